"""`convcli net` parsing is linear in the text's length: N layers wrapped in one
nn.Sequential(...) against the same N layers as a flat list, and N against 2N and 4N
(the ratio per doubling should be about 2; a quadratic splitter gives about 4).
In-process, interleaved, medians; parse and shape walk together.

Run: python benchmarks/net_parse.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from convcli.network.text import parse_layers  # noqa: E402
from convcli.network.walk import analyse_net  # noqa: E402

LAYER = "Conv2d(3, 3, 3, padding=1)"


def texts(n: int) -> dict[str, str]:
    return {f"{n} layers in one nn.Sequential": "nn.Sequential(\n" + f"{LAYER},\n" * n + ")",
            f"{n} layers, flat list": f"{LAYER}\n" * n}


def timed(text: str) -> float:
    start = time.perf_counter()
    analyse_net((1, 3, 8, 8), parse_layers(text))
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    n = ap.parse_args().rounds
    cases: dict[str, str] = {}
    for size in (1000, 2000, 4000):
        cases.update(texts(size))
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(n):
        for name, text in cases.items():
            times[name].append(timed(text))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"median of {n} interleaved rounds")
    for name, t in med.items():
        print(f"  {name:36s} {t * 1000:8.1f} ms")
    for kind in ("in one nn.Sequential", "flat list"):
        row = [med[k] for k in med if k.endswith(kind)]
        print(f"  {kind:36s} ratio per doubling: {row[1] / row[0]:.2f}, {row[2] / row[1]:.2f} "
              "(linear: about 2)")
    seq, flat = med["4000 layers in one nn.Sequential"], med["4000 layers, flat list"]
    print(f"  4000 layers, Sequential / flat: {seq / flat:.2f} (target: about 1)")


if __name__ == "__main__":
    main()
