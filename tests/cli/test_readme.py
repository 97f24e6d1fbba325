"""The README's examples are real: its library snippet runs and says what it claims,
and its set-up commands are the ones CI runs."""

import contextlib
import io
import re

from conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_library_snippet_runs_and_its_comments_are_true():
    block = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {})
    assert out.getvalue().startswith("groups=5: in_channels=3 is not divisible")
    from convcli import ConvSpec
    spec = ConvSpec(dims=2, in_channels=3, out_channels=16, kernel_size=3)
    claims = dict(re.findall(r"^(spec\.[^#]*?)\s+# ([\d,]+)$", block, re.M))
    assert claims["spec.num_params"] == f"{spec.num_params:,}"
    assert claims["spec.macs((4, 3, 64, 64))"] == f"{spec.macs((4, 3, 64, 64)):,}"
    assert claims["spec.flops((4, 3, 64, 64))"] == f"{spec.flops((4, 3, 64, 64)):,}"


def test_ci_runs_the_readme_test_command():
    command = "pip install -e '.[torch,plot,test]' torch==2.13.0 && python -m pytest -q"
    assert command in README
    assert command in (ROOT / ".ci" / "run").read_text()
