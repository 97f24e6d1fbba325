"""Statistics of an output tensor, in float64 chunks (never a full float64 copy)."""

from __future__ import annotations

from dataclasses import dataclass

from convcli.engine.torch_adapter import import_torch

STATS_CHUNK = 1 << 22


@dataclass(frozen=True)
class OutputStats:
    """Over the finite values (population std); NaN/Inf are counted, not averaged.
    None where there is no finite value."""

    count: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    nan: int
    inf: int

    @property
    def nonfinite(self) -> int:
        return self.nan + self.inf

    def as_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "min": self.min, "max": self.max,
                "nonfinite": self.nonfinite, "nan": self.nan, "inf": self.inf,
                "count": self.count}


def output_stats(y) -> OutputStats:
    """Statistics in float64, in chunks (never a full float64 copy of the output)."""
    torch = import_torch()
    y = y.detach()
    order = sorted(range(y.dim()), key=lambda i: -y.stride(i))
    p = y.permute(order) if y.dim() else y
    flat = p.view(-1) if p.is_contiguous() else p.reshape(-1)
    n = mean = m2 = 0.0
    lo = hi = None
    nan = inf = 0
    for i in range(0, flat.numel(), STATS_CHUNK):
        c = flat[i:i + STATS_CHUNK].to(torch.float64)
        finite = torch.isfinite(c)
        bad = c.numel() - int(finite.sum())
        if bad:
            n_nan = int(torch.isnan(c).sum())
            nan, inf = nan + n_nan, inf + bad - n_nan
            c = c[finite]
        k = c.numel()
        if not k:
            continue
        cm = float(c.mean())
        cm2 = float(((c - cm) ** 2).sum())
        cmin, cmax = float(c.min()), float(c.max())
        delta = cm - mean
        total = n + k
        mean += delta * k / total
        m2 += cm2 + delta * delta * n * k / total
        n = total
        lo = cmin if lo is None else min(lo, cmin)
        hi = cmax if hi is None else max(hi, cmax)
    if not n:
        return OutputStats(flat.numel(), None, None, None, None, nan, inf)
    return OutputStats(flat.numel(), mean, (m2 / n) ** 0.5, lo, hi, nan, inf)


# ---- the run ---------------------------------------------------------------------
