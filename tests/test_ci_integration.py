"""The composite GitHub Action (action.yml at the repository root) is real: its verify
steps run here, with their inputs, against this checkout (`convcli` on PATH is
`python -m convcli`), and a mismatch or a bad layer fails the step."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT


def _action():
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / "action.yml").read_text())


def _run_step(step, inputs: dict, tmp_path, cwd=None, path_first: str | None = None):
    """One step's bash script with its env, ${{ inputs.X }} filled in (the action's
    defaults for the inputs not given)."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    shim = bindir / "convcli"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m convcli "$@"\n')
    shim.chmod(0o755)
    path = f"{bindir}:{os.path.dirname(sys.executable)}:{os.environ['PATH']}"
    env = {**os.environ, "PATH": f"{path_first}:{path}" if path_first else path,
           "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1",
           "GITHUB_ACTION_PATH": str(ROOT), "RUNNER_TEMP": str(tmp_path),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md")}
    env.pop("CONVCLI_DEBUG", None)
    given = {k: str(v.get("default", "")) for k, v in _action()["inputs"].items()}
    given.update(inputs)
    for key, value in step.get("env", {}).items():
        env[key] = re.sub(r"\$\{\{ inputs\.(\w+) \}\}", lambda m: given[m.group(1)], value)
    return subprocess.run(["bash", "-c", step["run"]], env=env, cwd=cwd or tmp_path,
                          capture_output=True, text=True, timeout=300)


def _step(name_part: str):
    (step,) = [s for s in _action()["runs"]["steps"] if name_part in s["name"]]
    return step


def test_the_action_declares_its_inputs_and_installs_only_the_cpu_build():
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert {"mode", "cases", "seed", "dtype", "device", "configs", "junit", "torch", "model",
            "input", "options", "budgets", "base"} <= set(action["inputs"])
    assert action["inputs"]["torch"]["default"] == "torch==2.13.0"   # pinned, CPU index
    install = action["runs"]["steps"][0]["run"]
    assert "[torch]" not in install   # the extra would pull PyPI's CUDA torch
    for step in action["runs"]["steps"]:
        assert "${{" not in step["run"]   # inputs reach scripts through env only


def _fake_python(tmp_path, has_torch: bool):
    """A `python` that logs what it is asked to run (pip is never really run)."""
    fake = tmp_path / "fake"
    fake.mkdir()
    log = tmp_path / "python.log"
    (fake / "python").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        f'if [ "$1" = "-c" ]; then exit {0 if has_torch else 1}; fi\n')
    (fake / "python").chmod(0o755)
    return str(fake), log


@pytest.mark.parametrize("torch, has_torch, code", [
    ("torch==2.13.0", False, 0), ("", True, 0), ("", False, 3)])
def test_the_install_step_takes_torch_from_the_cpu_index_or_not_at_all(
        tmp_path, torch, has_torch, code):
    fake, log = _fake_python(tmp_path, has_torch)
    p = _run_step(_action()["runs"]["steps"][0], {"torch": torch}, tmp_path,
                  path_first=fake)
    assert p.returncode == code, p.stdout + p.stderr
    calls = log.read_text().splitlines()
    torch_installs = [c for c in calls if "install" in c and "torch" in c.split()[-3:]
                      or "torch==" in c]
    if torch:
        assert torch_installs == [f"-m pip install --quiet {torch} --index-url "
                                  "https://download.pytorch.org/whl/cpu"]
    else:
        assert not torch_installs
    if code == 0:
        assert calls[-1] == f"-m pip install --quiet {ROOT} numpy>=1.24"
    else:
        assert "torch is not installed on this runner" in p.stdout
        assert not any(str(ROOT) in c for c in calls)


def test_an_unknown_mode_fails_before_installing_anything(tmp_path):
    fake, log = _fake_python(tmp_path, True)
    p = _run_step(_action()["runs"]["steps"][0], {"mode": "sumary"}, tmp_path,
                  path_first=fake)
    assert p.returncode == 2 and "mode 'sumary': use verify, summary or diff" in p.stdout
    assert not log.exists()


def test_the_action_scripts_pass_shellcheck(tmp_path):
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    for i, step in enumerate(_action()["runs"]["steps"]):
        script = tmp_path / f"step{i}.sh"
        script.write_text("#!/bin/bash\n" + step["run"])
        p = subprocess.run(["shellcheck", "-s", "bash", str(script)], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0, (step["name"], p.stdout)


def test_a_dtype_matrix_writes_reports_whose_test_ids_differ(tmp_path):
    suite = _step("built-in suite")
    ids = {}
    for dtype in ("float32", "float64"):
        junit = f"reports/verify-{dtype}.xml"
        p = _run_step(suite, {"cases": "20", "seed": "7", "dtype": dtype, "junit": junit},
                      tmp_path)
        assert p.returncode == 0, p.stderr
        root = ET.parse(tmp_path / junit).getroot()
        assert root.get("failures") == "0" and int(root.get("tests")) >= 5
        ids[dtype] = {(c.get("classname"), c.get("name")) for c in root.iter("testcase")}
        assert all(f".{dtype}.cpu" in c for c, _ in ids[dtype])
    assert not ids["float32"] & ids["float64"]


def test_your_layers_take_quotes_comments_seed_and_junit(tmp_path):
    layers = _step("your layers")
    configs = ("# the grouped 1x1 conv\n-i 16 -o 16 -k 1 -g 2 --input 8x16x32x32\n\n"
               "   # indented comment\n"
               '-i 4 -o 8 -k 3 --padding "(1, 1)" --input 2x4x9x9  # a trailing one\n')
    p = _run_step(layers, {"configs": configs, "seed": "5", "dtype": "float64",
                           "junit": "reports/verify.xml"}, tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("PASSED") == 2
    names = set()
    for n in (1, 2):
        root = ET.parse(tmp_path / "reports" / f"verify-layer-{n}.xml").getroot()
        props = {e.get("name"): e.get("value") for e in root.iter("property")}
        assert (props["seed"], props["dtype"]) == ("5", "float64")
        names |= {c.get("classname") for c in root.iter("testcase")}
    assert len(names) == 2   # each layer's ids name its configuration


def test_a_bad_layer_or_a_broken_quote_fails_the_action(tmp_path):
    layers = _step("your layers")
    p = _run_step(layers, {"configs": "-i 16 -o 16 -k 1 -g 2\n-i 3 -o 16 -k 3 -g 5\n"},
                  tmp_path)
    assert p.returncode == 2
    assert "groups=5" in p.stderr and p.stdout.count("PASSED") == 1
    p = _run_step(layers, {"configs": '-i 4 -o 4 -k 3 --padding "(1, 1)\n'}, tmp_path)
    assert p.returncode == 2 and "No closing quotation" in p.stdout


def _checkouts(tmp_path):
    """The pull request of examples/ci/pr as the example workflow checks it out: the
    head in the workspace (models/), the base branch in base/models/."""
    work = tmp_path / "work"
    for side, where in (("head", work / "models"), ("base", work / "base" / "models")):
        shutil.copytree(ROOT / "examples" / "ci" / "pr" / side, where)
    return work


def test_summary_mode_writes_markdown_to_the_step_summary(tmp_path):
    step = _step("summary or diff")
    work = _checkouts(tmp_path)
    inputs = {"mode": "summary", "model": "models/net.py:Net", "input": "1x3x32x32",
              "options": "--args \"{'classes': 10}\" --train",
              "budgets": "--max-params 200k --max-train-memory 64MiB"}
    p = _run_step(step, inputs, tmp_path, cwd=work)
    assert p.returncode == 0, p.stderr
    page = (tmp_path / "step-summary.md").read_text()
    assert page.startswith("### convcli summary: `Net(classes=10)`")
    assert "All 2 budgets kept" in page
    assert "training step" in page
    root = ET.parse(work / "convcli-budgets.xml").getroot()
    assert (root.get("tests"), root.get("failures")) == ("2", "0")
    p = _run_step(step, {**inputs, "budgets": "--max-params 100k"}, tmp_path, cwd=work)
    assert p.returncode == 1 and "--max-params 100k" in p.stderr


def test_the_budgets_workflow_diffs_the_pull_request_and_fails_its_budget(tmp_path):
    """examples/ci/convcli-budgets.yml on examples/ci/pr: both checkouts summarised, the
    diff in the step summary, the MACs budget on the change failed (exit 1)."""
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "convcli-budgets.yml").read_text())
    steps = workflow["jobs"]["budgets"]["steps"]
    (base,) = [s for s in steps if "ref" in s.get("with", {})]
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    (step,) = [s for s in steps if s.get("uses") == "./"]
    assert set(step["with"]) <= set(_action()["inputs"])
    assert step["with"]["mode"] == "diff" and base["with"]["path"] == _action()[
        "inputs"]["base"]["default"]
    work = _checkouts(tmp_path)
    p = _run_step(_step("summary or diff"), {k: str(v) for k, v in step["with"].items()},
                  tmp_path, cwd=work)
    assert p.returncode == 1, p.stderr
    assert "--max-macs-increase 5%" in p.stderr and "Error: 1 of 3 budgets failed" in p.stderr
    page = (tmp_path / "step-summary.md").read_text()
    assert page.startswith("### convcli diff: `base.json (Net())` → `head.json (Net())`")
    assert "`trunk.conv (was body.conv)` Conv2d" in page and "❌" in page
    root = ET.parse(work / "reports" / "convcli-budgets.xml").getroot()
    assert (root.get("tests"), root.get("failures")) == ("3", "1")


def test_the_example_workflow_runs_the_action_with_inputs_it_has(tmp_path):
    """examples/ci/convcli-verify.yml: its action step's inputs exist in action.yml and,
    with the GitHub expressions filled in (and fewer cases), the action passes."""
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "convcli-verify.yml").read_text())
    (step,) = [s for s in workflow["jobs"]["verify"]["steps"] if s.get("uses") == "./"]
    action = _action()
    assert set(step["with"]) <= set(action["inputs"])
    fill = {"${{ github.run_number }}": "12", "${{ matrix.dtype }}": "float64"}
    inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    for key, value in step["with"].items():
        value = str(value)
        for expr, v in fill.items():
            value = value.replace(expr, v)
        inputs[key] = value
    inputs["cases"] = "30"
    for s in action["runs"]["steps"][1:]:
        if "verify" in s["if"]:
            p = _run_step(s, inputs, tmp_path)
            assert p.returncode == 0, p.stderr
    assert (tmp_path / "reports" / "convcli-verify-float64.xml").exists()
    assert (tmp_path / "reports" / "convcli-verify-float64-layer-2.xml").exists()


def _convcli(args: list[str], tmp_path):
    """`convcli ARGS` as a hook runs it: a process from the repository root."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    env.pop("CONVCLI_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "convcli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_the_repository_declares_its_pre_commit_hooks():
    """.pre-commit-hooks.yaml: convcli-net is torch-free (language: python, convcli
    alone), convcli-budget and convcli-verify run the torch you have (language:
    system)."""
    yaml = pytest.importorskip("yaml")
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"convcli-net", "convcli-budget", "convcli-verify"}
    budget = hooks["convcli-budget"]
    assert budget["language"] == "system" and budget["entry"] == "convcli summary"
    assert budget["pass_filenames"] is False
    net, verify = hooks["convcli-net"], hooks["convcli-verify"]
    assert net["language"] == "python" and net["entry"] == "convcli net"
    assert net["pass_filenames"] is False and "txt" in net["files"]
    assert verify["language"] == "system" and verify["pass_filenames"] is False
    assert verify["entry"].startswith("convcli verify")


def test_the_net_hook_passes_a_list_that_fits_and_fails_one_that_does_not(tmp_path):
    """The hook's entry with a user's args, as pre-commit runs it."""
    yaml = pytest.importorskip("yaml")
    (net,) = [h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
              if h["id"] == "convcli-net"]
    entry = net["entry"].split()[1:]
    good = _convcli(entry + ["1x3x32x32", "--file", "examples/models/cifar_cnn.txt"],
                    tmp_path)
    assert good.returncode == 0, good.stderr
    bad = tmp_path / "bad.txt"
    bad.write_text((ROOT / "examples" / "models" / "cifar_cnn.txt").read_text()
                   .replace("Linear(64 * 4 * 4,", "Linear(1000,"))
    p = _convcli(entry + ["1x3x32x32", "--file", str(bad)], tmp_path)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith("Error:") and "Linear(1024, 500)" in p.stderr


def test_the_example_pre_commit_hooks_are_local_system_hooks_that_pass(tmp_path):
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((ROOT / "examples" / "ci" / "pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["repo"] == "local"
    assert {h["id"] for h in hooks["repos"][0]["hooks"]} == {
        "convcli-net", "convcli-budget", "convcli-verify"}
    for hook in hooks["repos"][0]["hooks"]:
        assert hook["language"] == "system" and hook["pass_filenames"] is False
        args = hook["entry"].split()[1:]
        args = ["30" if a.isdigit() else a for a in args]   # fewer cases, same command
        p = _convcli(args, tmp_path)
        assert p.returncode == 0, (hook["id"], p.stderr)


def test_the_budget_hook_fails_the_commit_when_a_budget_is_exceeded(tmp_path):
    """The example's budget hook with a tighter budget, as a user's args would give."""
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((ROOT / "examples" / "ci" / "pre-commit-config.yaml").read_text())
    (hook,) = [h for h in hooks["repos"][0]["hooks"] if h["id"] == "convcli-budget"]
    args = hook["entry"].split()[1:]
    args[args.index("--max-params") + 1] = "100k"
    p = _convcli(args, tmp_path)
    assert p.returncode == 1
    assert p.stderr.startswith("Error: 1 of 3 budgets failed: --max-params 100k")


def test_the_docs_say_which_hooks_need_args_and_show_the_markdown():
    text = (ROOT / "docs" / "ci.md").read_text()
    assert "convcli-net and convcli-budget need `args:`" in text
    yaml = pytest.importorskip("yaml")
    (config,) = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "rev:" in b]
    hooks = {h["id"]: h for h in yaml.safe_load(config)[0]["hooks"]}
    assert set(hooks) == {"convcli-net", "convcli-budget", "convcli-verify"}
    assert hooks["convcli-net"]["args"] and hooks["convcli-budget"]["args"]
    assert "### convcli diff:" in text and "| module | params | MACs |" in text


DIFF_MARKDOWN = ["diff", "examples/ci/pr/base/net.py:Net", "examples/ci/pr/head/net.py:Net",
                 "--input", "1x3x32x32", "--format", "markdown", "--max-params", "25M",
                 "--max-macs-increase", "5%"]


def test_the_docs_render_the_pull_requests_markdown_diff(tmp_path, request):
    """docs/ci.md embeds what `convcli diff --format markdown` prints (GitHub renders
    it in place); --update-goldens rewrites it."""
    page = ROOT / "docs" / "ci.md"
    text = page.read_text()
    start, end = "<!-- diff markdown -->\n", "<!-- end diff markdown -->"
    p = _convcli(DIFF_MARKDOWN, tmp_path)
    assert p.returncode == 1 and p.stderr.startswith("Error: 1 of 2 budgets failed")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    wanted = head + start + "\n" + p.stdout + "\n" + end + tail
    if request.config.getoption("--update-goldens"):
        page.write_text(wanted)
        text = wanted
    assert text == wanted, "docs/ci.md's markdown diff is stale: --update-goldens"
