"""`convcli verify`: numerical and arithmetic proof (engine world), reported as a
table, --json and --junit.
"""

from __future__ import annotations

import os
from typing import Optional

from convcli.calculator.parse import parse_shape
from convcli.cli.app import app
from convcli.cli.command_errors import errors_to_exit_code
from convcli.cli.options import ConvArgs, conv_options, table_options
from convcli.errors import ConvError, Mismatch


@app.command()
@errors_to_exit_code
@conv_options("verify")
@table_options("verify")
def verify(conv: ConvArgs, input: Optional[str], cases: Optional[int], seed: int, device: str,
           dtype: str, atol: Optional[float], rtol: Optional[float], fail_fast: bool,
           junit: Optional[str], max_memory, json: bool):
    """Prove that grouped conv == split-and-concat, that depthwise and
    depthwise-separable convs are what they claim, that the calculator agrees with
    torch, and that a numpy reference agrees with torch's F.convNd and nn.ConvNd (the
    suite also in every other dtype the device runs). A check that raises fails.
    Exit 0 all passed, 1 a mismatch, 2 bad usage, 3 environment.

    --dtype: torch computes in it; a result may be off by 8 eps of the dtype times
    sum |x*w| + |y| (the rounding bound), or by --atol/--rtol when given.

    Example: convcli verify 8x16x32x32 -i 16 -o 16 -k 1 -g 2
    """
    from convcli.engine.verify.verify_results import DEFAULT_CASES, Options

    opts = Options(device=device, dtype=dtype, atol=atol, rtol=rtol, seed=seed,
                   cases=DEFAULT_CASES if cases is None else cases, fail_fast=fail_fast,
                   max_memory=max_memory)
    _check_junit(junit)
    report, reading, transposed = _run_checks(conv, input, cases, opts)
    _report(report, junit, json, reading, transposed)


def _run_checks(conv: ConvArgs, input: str | None, cases: int | None, opts):
    """The built-in suite without -o/-k; every check of one configuration with them."""
    from convcli.engine.verify import execute as core
    from convcli.engine.verify.plans import default_input
    from convcli.engine.verify.verify_results import check_options
    from convcli.views.progress import verify_progress

    if conv.out_channels is None and conv.kernel_size is None:
        given = conv.given() + (["INPUT"] if input is not None else [])
        if given:
            raise ConvError(
                f"{', '.join(given)} {'describe' if len(given) > 1 else 'describes'} one "
                "configuration: add --out-channels and --kernel-size to verify it "
                "(e.g. -i 16 -o 16 -k 1 -g 2), or drop "
                f"{'them' if len(given) > 1 else 'it'} to run the built-in suite")
        check_options(opts)
        with verify_progress() as progress:
            return core.run_suite(opts, progress), None, False
    if conv.out_channels is None or conv.kernel_size is None:
        missing = "--out-channels" if conv.out_channels is None else "--kernel-size"
        raise ConvError(f"{missing} is needed to verify one configuration (e.g. "
                        "-i 16 -o 16 -k 1); without -o and -k verify runs the "
                        "built-in suite")
    if cases is not None:
        raise ConvError(f"--cases {cases}: random configurations belong to the built-in "
                        "suite; with -o/-k verify checks that one configuration, so "
                        "drop --cases or the configuration")
    input_shape = None if input is None else parse_shape(input)
    spec, reading = conv.read(input_shape)
    if input_shape is None:
        input_shape = default_input(spec)
    spec.output_shape(input_shape)
    check_options(opts)
    with verify_progress() as progress:
        return core.run_config(spec, input_shape, opts, progress), reading, spec.transposed


def _check_junit(junit: str | None) -> None:
    """A writable file path, checked before any work (nothing is created: a missing
    folder is made when the report is written)."""
    if junit is None:
        return
    if not junit.strip() or os.path.isdir(junit):
        raise ConvError(f"--junit {junit!r}: give a file path such as report.xml"
                        + (", not a folder" if junit.strip() else ""))
    from convcli.files import check_writable
    check_writable(junit, "--junit")


def _report(report, junit: str | None, json: bool, reading=None,
            transposed: bool = False) -> None:
    from convcli.views.console import Output
    from convcli.views.conv_view import reading_text
    from convcli.views.junit import junit_xml, write_atomic
    from convcli.views.verify_view import verify_dict, verify_renderables, verify_summary

    if junit is not None:
        write_atomic(junit, junit_xml(report))
    data = verify_dict(report)
    data["interpretation"] = None if reading is None else reading.as_dict(transposed)
    note = reading_text(reading, transposed)
    Output(json).emit(data, note, *verify_renderables(report))
    if not report.passed:
        raise Mismatch(verify_summary(report))
