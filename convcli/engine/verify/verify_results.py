"""What `convcli verify` reports: the check names, tolerances, options, and the result
dataclasses (a check's worst case, its result, the whole report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from convcli.calculator.spec import ConvSpec
from convcli.engine.devices import parse_device
from convcli.engine.torch_adapter import check_seed
from convcli.errors import ConvError
from convcli.formatting import shape_x

# The numeric checks allow, per output element, FACTOR units of the dtype's machine
# epsilon times the size of what was summed: |got - expected| <= FACTOR * eps *
# (sum |x * w| + |b| + |expected|), the textbook bound on a dot product's rounding,
# computed by the float64 numpy reference on |x|, |w|, |b|. torch's worst honest
# error over the suite measured 1.5 eps * (...) in every dtype (CPU, torch 2.13; the
# grouped check's two torch sides 1.4), so FACTOR = 8 leaves a 5x margin while a
# +5e-5 fault in float32 (about 50 eps * (...) on an O(1) output) fails. On CUDA,
# cuDNN may pick Winograd or FFT algorithms, whose rounding is not this dot product's:
# CUDA_FACTOR = 64 (unmeasured here: no GPU; still fails a +5e-5 float32 fault on
# the suite's small-fan-in convs).
EPS = {"float64": 2.0 ** -52, "float32": 2.0 ** -23, "float16": 2.0 ** -10,
       "bfloat16": 2.0 ** -7}
FACTOR = 8.0
CUDA_FACTOR = 64.0
# (atol, rtol) per dtype: the allclose rule |got - expected| <= atol + rtol * |expected|,
# used when --atol or --rtol is given (the one not given comes from here)
TOLERANCES = {
    "float64": (1e-10, 1e-8),
    "float32": (1e-4, 1e-4),
    "float16": (1e-2, 1e-2),
    "bfloat16": (5e-2, 2e-2),
}
DEFAULT_CASES = 1000
MAX_CASES = 100_000        # --cases: about 1 ms each; more would run for minutes
CHECKS = {   # name -> what it proves (short enough for an 80-column table)
    "grouped": "grouped conv == split-and-concat",
    "depthwise": "depthwise == per-channel convs",
    "separable": "dw+pw block: shape, params, MACs",
    "calculator": "validity, shape, params, MACs",
    "reference": "reference == F.convNd, nn.ConvNd",
    "dtypes": "reference == torch, other dtypes",
}


@dataclass(frozen=True)
class Tolerance:
    """How far a numeric check lets torch be from what it is compared with: the
    calibrated bound (default) or the allclose rule (--atol/--rtol)."""

    dtype: str
    atol: float | None = None
    rtol: float | None = None
    source: str = ""
    factor: float = FACTOR

    @property
    def calibrated(self) -> bool:
        return self.atol is None

    @property
    def eps(self) -> float:
        return EPS[self.dtype]

    def text(self) -> str:
        if self.calibrated:
            return f"{self.factor:g} eps (|x*w|+|y|)"
        return f"atol={self.atol:g}, rtol={self.rtol:g}"

    def bound(self) -> str:
        """The right-hand side of the rule, for a failure's message."""
        if self.calibrated:
            return f"{self.factor:g} * eps * (sum |x*w| + |b| + |expected|)"
        return f"atol + rtol * |expected| (atol={self.atol:g}, rtol={self.rtol:g})"

    def rule(self) -> str:
        if self.calibrated:
            return (f"|torch - expected| <= {self.factor:g} * eps * (sum |x*w| + |b| + "
                    f"|expected|), "
                    f"eps = {self.eps:.3g} ({self.dtype})")
        return "|torch - expected| <= atol + rtol * |expected|"

    def allowed(self, expected, magnitude, sides: int = 1):
        """Elementwise bound (numpy arrays); ``sides=2`` when both are torch's."""
        import numpy as np

        if self.calibrated:
            return sides * self.factor * self.eps * (magnitude + np.abs(expected))
        return self.atol + self.rtol * np.abs(expected)

    def as_dict(self) -> dict:
        return {"atol": self.atol, "rtol": self.rtol, "source": self.source,
                "rule": self.rule(), "factor": self.factor if self.calibrated else None,
                "eps": self.eps}


Progress = Callable[[str, int, "int | None"], None]   # (check name, done, total if known)


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
    notes: list[str] = field(default_factory=list)   # e.g. a dtype the device lacks

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
    tolerance: Tolerance
    seed: int
    random_cases: int
    torch_version: str
    checks: list[CheckResult]
    skipped: list[Skipped]
    seconds: float
    memory: dict | None = None   # config mode: the estimate and the budget it met

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


@dataclass(frozen=True)
class DtypeConf:
    """One configuration of the dtypes check: a conf run in another dtype."""

    dtype: str
    conf: Conf

    def describe(self) -> str:
        return f"{self.conf.describe()} in {self.dtype}"


@dataclass
class Options:
    device: str = "cpu"
    dtype: str = "float32"
    atol: float | None = None
    rtol: float | None = None
    seed: int = 0
    cases: int = DEFAULT_CASES
    fail_fast: bool = False
    max_memory: int | float | None = None   # --max-memory, as for run


def _bigger(a, b) -> bool:
    if a is None:
        return b is not None
    return b is not None and a > b


# ---- options --------------------------------------------------------------------

def tolerance(dtype: str, atol: float | None = None, rtol: float | None = None,
              cuda: bool = False) -> Tolerance:
    """The numeric checks' tolerance for a dtype: calibrated, or the allclose rule
    with the user's --atol/--rtol (the other from TOLERANCES)."""
    if dtype not in TOLERANCES:
        raise ConvError(f"--dtype {dtype!r}: verify runs {', '.join(TOLERANCES)}")
    for name, v in (("--atol", atol), ("--rtol", rtol)):
        if v is not None and not (0 <= v < float("inf")):
            raise ConvError(f"{name} {v}: a tolerance must be a finite number >= 0, e.g. "
                            f"{name} 1e-4")
    if atol is None and rtol is None:
        return Tolerance(dtype, source=f"{dtype}, calibrated" + (" for CUDA" if cuda else ""),
                         factor=CUDA_FACTOR if cuda else FACTOR)
    a, r = TOLERANCES[dtype]
    source = "--atol/--rtol" if atol is not None and rtol is not None else (
        "--atol" if atol is not None else "--rtol") + f", {dtype} default otherwise"
    return Tolerance(dtype, a if atol is None else atol, r if rtol is None else rtol, source)


def check_options(opts: Options) -> None:
    """Usage errors (exit 2) before torch is imported."""
    parse_device(opts.device)
    tolerance(opts.dtype, opts.atol, opts.rtol)
    if not 0 <= opts.cases <= MAX_CASES:
        raise ConvError(f"--cases {opts.cases if abs(opts.cases) < 10 ** 30 else '(huge)'}: "
                        f"give 0 to {MAX_CASES:,} random configurations (each takes about a "
                        "millisecond); for more, run several --seed values")
    check_seed(opts.seed)
