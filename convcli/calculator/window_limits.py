"""How large a sliding window `convcli show` draws: it is drawn position by position,
so one spatial dim is bounded, and a refusal names what is large (the input, the
padding, the stride or the output), not always the input. Pure Python."""

from __future__ import annotations

from convcli.errors import ConvError

MAX_WINDOW_POSITIONS = 1_000_000


def check_drawable(dim: int, n: int, pl: int, pr: int, s: int, out: int, k: int) -> None:
    """Refuse a window that would pass MAX_WINDOW_POSITIONS, blaming what is large."""
    if (n + pl + pr) * max(s, 1) <= MAX_WINDOW_POSITIONS and out * k <= MAX_WINDOW_POSITIONS:
        return
    what, fix = (
        (f"spatial dim {dim} is {n:,} long", "input") if n * max(s, 1) > MAX_WINDOW_POSITIONS
        // 2 and n > max(pl + pr, out // 2) else
        (f"padding {pl}+{pr} along dim {dim} is {pl + pr:,} positions", "padding")
        if pl + pr > n else
        (f"stride {s:,} along dim {dim} spreads {n:,} inputs over {n * s:,} positions",
         "stride") if s > 1 and n * s > MAX_WINDOW_POSITIONS // 2 else
        (f"the output along dim {dim} is {out:,} long ({out * k:,} taps)",
         "kernel, dilation, stride or input"))
    raise ConvError(f"{what}; show draws dims up to about {MAX_WINDOW_POSITIONS:,} "
                    f"positions: use a smaller {fix}")
