"""views/run_view.py on its own: a RunResult made by hand (no torch) drawn at 80
columns (run's table, --tune's table, --sweep's table) and its --json dicts, each
checked against the values it was given."""

from __future__ import annotations

import io
from dataclasses import replace

from rich.console import Console

from convcli.calculator.spec import ConvSpec
from convcli.calculator.sweep_grid import Sweep, SweepRow
from convcli.engine.conv_run import RunResult
from convcli.engine.devices import Device
from convcli.engine.memory import MemoryEstimate
from convcli.engine.run_sweep import SweepRuns, SweptRun
from convcli.engine.stats import OutputStats
from convcli.engine.timing import Spread, Timing
from convcli.engine.tune import TuneRow
from convcli.views import run_view
from convcli.views.jsonout import JSON_VERSION

SPEC = ConvSpec(dims=2, in_channels=4, out_channels=8, kernel_size=3, stride=2)
STEADY = Timing(0.25, 0.2, 0.4, 0.27, 5, 1, "perf_counter", (0.2, 0.24, 0.25, 0.26, 0.4))
BUSY = Timing(1.0, 0.5, 3.0, 1.5, 5, 1, "perf_counter", (0.5, 0.6, 1.0, 2.0, 3.0))


def result(spec: ConvSpec = SPEC, timing: Timing = STEADY, nan: int = 0) -> RunResult:
    out = spec.output_shape((2, 4, 9, 9))
    return RunResult(
        spec=spec, input_shape=(2, 4, 9, 9), predicted_shape=out, output_shape=out,
        device=Device("cpu", "cpu", None, "CPU, 3 threads"), dtype="float32",
        channels_last=False, seed=7,
        sources={"input": "standard normal, seed 7", "weight": "w", "bias": "b"},
        macs=spec.macs((2, 4, 9, 9)), timing=timing, gflops=12.5,
        peak_memory=300 * 2 ** 20, peak_memory_what="VmHWM",
        estimate=MemoryEstimate(1, 2, 3, 4, 0, 0, 5, 0, 6, 7, limit=2 ** 30,
                                limit_source="--max-memory"),
        stats=OutputStats(288, 0.5, 1.25, -3.0, 4.0, nan, 0), torch_version="9.9",
        threads=3)


def draw(*parts, width: int = 80) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, no_color=True,
                      legacy_windows=False)
    for part in parts:
        if part is not None:
            console.print(part)
    text = "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())
    assert max(len(line) for line in text.splitlines()) <= width
    return text


def test_run_dict_is_the_results_values():
    r = result()
    d = run_view.run_dict(r)
    assert d["version"] == JSON_VERSION and d["layer"] == "Conv2d(4, 8, 3, stride=2)"
    assert d["output_shape"] == [2, 8, 4, 4] == d["predicted_shape"]
    assert d["macs"] == r.macs == 2 * 8 * 4 * 4 * 4 * 9 and d["flops"] == 2 * r.macs
    assert d["timing"]["median_ms"] == 0.25 and d["timing"]["repeat"] == 5
    assert d["memory_estimate"]["total"] == 28 and d["memory_estimate"]["limit"] == 2 ** 30
    assert (d["seed"], d["threads"], d["torch"], d["tune"], d["saved"]) == (
        7, 3, "9.9", [], None)
    assert d["stats"] == {"mean": 0.5, "std": 1.25, "min": -3.0, "max": 4.0,
                          "nonfinite": 0, "nan": 0, "inf": 0, "count": 288}


def test_run_table_at_80_columns():
    text = draw(run_view.run_table(result()))
    assert text.startswith("Conv2d(4, 8, 3, stride=2) on cpu, float32\n")
    assert "[2, 8, 4, 4]  = predicted" in text
    assert "median 0.250 ms · min 0.200 ms · max 0.400 ms" in text
    assert "5 timed after 1 warmup (perf_counter)" in text
    assert f"12.5 GFLOP/s ({2 * SPEC.macs((2, 4, 9, 9)):,}" in text
    assert "timings spread widely" not in text
    busy = draw(run_view.run_table(result(timing=BUSY)))
    assert "the timings spread widely" in " ".join(busy.split())


def test_tune_table_marks_the_fastest_and_says_what_to_set():
    r = result()
    yours = TuneRow("float32", False, None, STEADY, 12.5, None, requested=True)
    nhwc = TuneRow("float32", True, None, replace(STEADY, median_ms=0.125), 25.0, 1e-6,
                   fastest=True, speedup=Spread(2.0, 1.8, 2.2))
    control = TuneRow("float32", False, None, STEADY, 12.5, 0.0, control=True,
                      speedup=Spread(1.0, 0.97, 1.03), within_spread=True)
    text = draw(run_view.tune_table(replace(r, tune=(yours, nhwc, control))))
    assert "★ float32 NHWC" in text and "2.00x" in text and "1.80-2.20" in text
    assert "set: model = model.to(memory_format=torch.channels_last)" in text
    d = run_view.run_dict(replace(r, tune=(yours, nhwc, control)))
    assert [t["label"] for t in d["tune"]] == [
        "float32, contiguous", "float32, channels_last",
        "float32, contiguous (A/A control)"]


def _swept() -> SweepRuns:
    sweeps = (Sweep("kernel_size", "k", ("1", "3", "40")),)
    rows = (SweepRow({"kernel_size": "1"}, SweptRun(result(replace(SPEC, kernel_size=(1, 1))),
                                                    None), None),
            SweepRow({"kernel_size": "3"}, SweptRun(result(timing=BUSY, nan=2), None), None),
            SweepRow({"kernel_size": "40"}, None, "the kernel 40 does not fit"))
    return SweepRuns(sweeps, rows)


def test_the_sweep_dict_has_each_runs_keys_and_its_swept_values():
    done = _swept()
    d = run_view.sweep_run_dict(done)
    assert d["sweep_options"] == [{"option": "kernel_size", "name": "k",
                                   "values": ["1", "3", "40"]}]
    first, second, refused = d["sweep"]
    plain = set(run_view.run_dict(result())) - {"version"}
    assert set(first) == plain | {"swept", "error", "interpretation"}
    assert first["swept"] == {"kernel_size": "1"} and first["output_shape"] == [2, 8, 5, 5]
    assert second["timing"]["spread_note"] is not None and second["stats"]["nan"] == 2
    assert refused == {"swept": {"kernel_size": "40"}, "error": "the kernel 40 does not fit"}


def test_the_sweep_table_at_80_columns_says_once_what_rows_share():
    text = draw(*run_view.sweep_run_parts(_swept()))
    flat = " ".join(text.split())
    assert text.startswith("3 runs of k on cpu, float32\n")
    rows = [line.split() for line in text.splitlines() if line.startswith("  ")]
    assert rows[1][:1] == ["1"] and "[2, 8, 5, 5]" in " ".join(rows[1])
    assert "0.250" in rows[1] and "8%" in rows[1] and "12.5" in rows[1]   # IQR 0.02/0.25
    assert "1.00" in rows[2] and "140%*" in rows[2] and "NaN," in rows[2]
    assert "torch refuses it (below)" in text and "k=40: the kernel 40 does not fit" in flat
    assert flat.count("the timings spread widely in k=3") == 1
    assert flat.count("input [2, 4, 9, 9] standard normal, seed 7") == 1
    assert "5 timed calls after 1 warmup per run (perf_counter)" in flat
    narrow = draw(*run_view.sweep_run_parts(_swept()), width=60)
    assert "left out to fit the width: layer" in " ".join(narrow.split())


def test_the_spread_is_the_interquartile_range_over_the_median():
    """Timing.spread, which the sweep column and run's note both read: the inclusive
    quartiles (numpy's default percentile: 0.24 and 0.26 of STEADY's five calls, 0.6
    and 2.0 of BUSY's) over the median."""
    assert abs(STEADY.spread - (0.26 - 0.24) / 0.25) < 1e-12
    assert abs(BUSY.spread - (2.0 - 0.6) / 1.0) < 1e-12
    assert (BUSY.spread_note() is not None) == (BUSY.spread > 0.25)
    assert STEADY.spread_note() is None and STEADY.spread <= 0.25
    assert Timing(1.0, 1.0, 1.0, 1.0, 3, 1, "perf_counter", (1.0, 1.0, 1.0)).spread is None
