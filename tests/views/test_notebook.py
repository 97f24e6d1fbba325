"""A real notebook (examples/notebooks/from_torchinfo.ipynb) executed by nbclient on a
real IPython kernel: every report, as the last line of a cell, shows its table in the
cell's HTML output with its numbers (the HTML was once an empty <pre>: rich's
export_text() had cleared the record before export_html())."""

import html

import pytest

from conftest import ROOT

torch = pytest.importorskip("torch")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

import convcli  # noqa: E402

NOTEBOOK = ROOT / "examples" / "notebooks" / "from_torchinfo.ipynb"


def executed():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=180, startup_timeout=120,
                                     kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()      # shuts the kernel down when done, or on an error
    return nb


def expected():
    """The same reports, made here: the numbers the HTML must show."""
    namespace: dict = {}
    nb = nbformat.read(NOTEBOOK, as_version=4)
    exec(nb.cells[1].source, namespace)
    model = namespace["Net"]()
    return [
        convcli.summary(model, input_size=(16, 1, 28, 28), verbose=0),
        convcli.summary(model, input_size=(1, 28, 28), batch_dim=0, verbose=0,
                        col_names=("input_size", "output_size", "num_params", "kernel_size",
                                   "mult_adds")),
        convcli.summarise(model, (2, 1, 28, 28)),
        convcli.analyse_net("1x3x32x32", "Conv2d(3, 16, 3), ReLU(), MaxPool2d(2)"),
    ]


@pytest.mark.slow
def test_every_report_shows_its_numbers_in_the_notebooks_html():
    nb = executed()
    results = [c.outputs for c in nb.cells if c.cell_type == "code"]
    assert all(not [o for o in outs if o.output_type == "error"] for outs in results)
    # code cells: set-up, summary, the totals, columns, pandas, summarise, analyse_net
    shown = [results[i][0]["data"] for i in (1, 3, 5, 6)]
    for data, report in zip(shown, expected()):
        page = html.unescape(data["text/html"])
        assert "<pre" in page and "<span" in page     # rich's export, not an empty box
        for number in (f"{report.total_params:,}", f"{report.total_macs:,}",
                       f"{2 * report.total_macs:,}", "x".join(map(str, report.output_shape))):
            assert number in page, number
        for r in report.rows[:3]:
            assert r.var_name in page
        assert f"{report.total_params:,}" in data["text/plain"]   # the table, not a repr
    first = expected()[0]
    totals = results[2][0]["data"]["text/plain"]
    assert totals == repr((first.total_params, first.trainable_params, first.total_mult_adds,
                           first.total_param_bytes))
    frame = results[4][0]["data"]["text/html"]
    assert "num_params" in frame and f"{first.summary_list[0].num_params}" in frame
