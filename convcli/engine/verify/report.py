"""What `convcli verify` reports: the check names, tolerances, options, and the result
dataclasses (a check's worst case, its result, the whole report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from convcli.calculator.spec import ConvSpec
from convcli.engine.devices import parse_device
from convcli.errors import ConvError
from convcli.formatting import shape_x

# (atol, rtol) per dtype: |torch - reference| <= atol + rtol * |reference| elementwise
# (torch.allclose's rule). Outputs are O(1): inputs ~ N(0, 1), weights ~
# U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as torch initialises them.
TOLERANCES = {
    "float64": (1e-10, 1e-8),
    "float32": (1e-4, 1e-4),
    "float16": (1e-2, 1e-2),
    "bfloat16": (5e-2, 2e-2),
}
DEFAULT_CASES = 1000
CHECKS = {   # name -> what it proves (short enough for an 80-column table)
    "grouped": "grouped conv == split-and-concat",
    "depthwise": "depthwise == per-channel convs",
    "separable": "dw+pw block: shape, params, MACs",
    "calculator": "validity, shape, params, MACs",
    "reference": "numpy reference == torch",
}

Progress = Callable[[str, int, int], None]   # (check name, done, total)


# ---- report dataclasses ---------------------------------------------------------

@dataclass
class Worst:
    """The worst case of a check: what was run, how far off, and where."""

    configuration: str
    error: float | None          # max abs error; None: a valid/invalid disagreement
    where: str
    expected: str
    got: str
    message: str = ""

    def as_dict(self) -> dict:
        return {"configuration": self.configuration, "error": self.error,
                "where": self.where, "expected": self.expected, "got": self.got,
                "message": self.message}


@dataclass
class CheckResult:
    name: str
    title: str
    tolerance: str               # "atol=..., rtol=..." or "exact"
    cases: int = 0
    failures: int = 0
    worst_error: float | None = 0.0
    worst: Worst | None = None
    seconds: float = 0.0
    # calculator: cases where torch returned an empty tensor for a transposed conv
    # with an exactly-0 output size that ConvSpec rejects (documented; agreement)
    quirks: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.failures == 0

    worst_failed: bool = False
    worst_rank: int = 0

    def record(self, error: float | None, worst: Worst | None, failed: bool,
               rank: int = 0) -> None:
        """Keep a failing case over a passing one; among failing cases the most basic
        kind of disagreement (lower rank: validity, then shape, params, MACs), then the
        largest error (None, a valid/invalid disagreement, counts as the largest).
        Exact checks pass no Worst for a case that agreed."""
        if failed:
            self.failures += 1
        if worst is None:
            return
        key = (not failed, rank)
        current = (not self.worst_failed, self.worst_rank)
        if self.worst is None or key < current or (
                key == current and _bigger(error, self.worst_error)):
            self.worst, self.worst_error = worst, error
            self.worst_failed, self.worst_rank = failed, rank


@dataclass
class Skipped:
    name: str
    reason: str


@dataclass
class VerifyReport:
    mode: str                    # "suite" or "config"
    configuration: str | None
    spec: ConvSpec | None
    input_shape: tuple[int, ...] | None
    device: str
    dtype: str
    atol: float
    rtol: float
    tolerance_source: str
    seed: int
    random_cases: int
    torch_version: str
    checks: list[CheckResult]
    skipped: list[Skipped]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]


@dataclass(frozen=True)
class Conf:
    """One configuration: a valid layer and an input it accepts."""

    spec: ConvSpec
    input_shape: tuple[int, ...]

    def describe(self) -> str:
        return f"{self.spec.torch_repr()} on {shape_x(self.input_shape)}"


@dataclass
class Options:
    device: str = "cpu"
    dtype: str = "float32"
    atol: float | None = None
    rtol: float | None = None
    seed: int = 0
    cases: int = DEFAULT_CASES
    fail_fast: bool = False


def _bigger(a, b) -> bool:
    if a is None:
        return b is not None
    return b is not None and a > b


# ---- options --------------------------------------------------------------------

def tolerance(dtype: str, atol: float | None = None, rtol: float | None = None):
    """(atol, rtol, source) for a dtype, with the user's overrides."""
    if dtype not in TOLERANCES:
        raise ConvError(f"--dtype {dtype!r}: verify runs {', '.join(TOLERANCES)}")
    for name, v in (("--atol", atol), ("--rtol", rtol)):
        if v is not None and not (v >= 0):
            raise ConvError(f"{name} {v}: a tolerance must be a number >= 0, e.g. {name} 1e-4")
    a, r = TOLERANCES[dtype]
    source = f"{dtype} default"
    if atol is not None or rtol is not None:
        source = "--atol/--rtol" if atol is not None and rtol is not None else (
            "--atol" if atol is not None else "--rtol") + f", {dtype} default otherwise"
    return (a if atol is None else atol), (r if rtol is None else rtol), source


def check_options(opts: Options) -> None:
    """Usage errors (exit 2) before torch is imported."""
    parse_device(opts.device)
    tolerance(opts.dtype, opts.atol, opts.rtol)
    if opts.cases < 0:
        raise ConvError(f"--cases {opts.cases}: give a number >= 0 of random configurations")
    if not -2 ** 63 <= opts.seed < 2 ** 63:
        raise ConvError(f"--seed {opts.seed}: seeds are 64-bit integers; use a number "
                        f"between -2**63 and 2**63 - 1, e.g. --seed 3")
