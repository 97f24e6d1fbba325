"""The numpy reference against torch's CPU conv, side by side in one run.

Target (issue 4): the reference stays within 3x of torch's CPU time on a medium conv,
8x32x64x64, 32->64, k3. Both sides run in float32 on the same tensors, after a
warm-up, alternating torch and numpy run by run so that load on the (shared) machine
hits both alike; the ratio is the median of the per-pair ratios, the times are
medians.

    PYTHONPATH=. python benchmarks/reference_speed.py [--repeat 11]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from convcli.engine import reference, torch_adapter
from convcli.calculator.spec import ConvSpec

TARGET = 3.0
CASES = [  # (label, spec, input shape); the first one is the target case
    ("medium conv (target)", ConvSpec(2, 32, 64, 3, padding=1), (8, 32, 64, 64)),
    ("strided, dilated", ConvSpec(2, 32, 64, 3, stride=2, dilation=2, padding=2),
     (8, 32, 64, 64)),
    ("grouped g=4", ConvSpec(2, 32, 64, 3, padding=1, groups=4), (8, 32, 64, 64)),
    ("depthwise", ConvSpec(2, 32, 32, 3, padding=1, groups=32), (8, 32, 64, 64)),
    ("reflect padding", ConvSpec(2, 32, 64, 3, padding=1, padding_mode="reflect"),
     (8, 32, 64, 64)),
    ("transposed s2", ConvSpec(2, 64, 32, 4, stride=2, padding=1, transposed=True),
     (8, 64, 32, 32)),
    ("conv3d", ConvSpec(3, 16, 32, 3, padding=1), (2, 16, 16, 32, 32)),
]


def paired(f_torch, f_numpy, repeat: int):
    """Median times of both sides and the median of the per-pair ratios."""
    f_torch(), f_numpy()
    ts, ns, ratios = [], [], []
    for _ in range(repeat):
        t = time.perf_counter()
        f_torch()
        t1 = time.perf_counter()
        f_numpy()
        t2 = time.perf_counter()
        ts.append(t1 - t)
        ns.append(t2 - t1)
        ratios.append((t2 - t1) / (t1 - t))
    return statistics.median(ts), statistics.median(ns), statistics.median(ratios)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=11)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy "
          f"{np.__version__}; float32; medians of {args.repeat} alternating runs; "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'case':<22} {'input':>14} {'torch ms':>9} {'numpy ms':>9} {'ratio':>6}  max|diff|")
    worst_target = None
    for label, spec, shape in CASES:
        torch.manual_seed(0)
        m = torch_adapter.build_module(spec)
        x = torch.randn(shape)
        w = m.weight.detach().numpy()
        b = m.bias.detach().numpy()
        xn = x.numpy()

        def run_torch():
            with torch.no_grad():
                return m(x)

        def run_numpy():
            return reference.conv(spec, xn, w, b)

        t_torch, t_numpy, ratio = paired(run_torch, run_numpy, args.repeat)
        diff = float(np.abs(run_torch().numpy() - run_numpy()).max())
        if worst_target is None:
            worst_target = ratio
        print(f"{label:<22} {'x'.join(map(str, shape)):>14} {t_torch * 1e3:9.1f} "
              f"{t_numpy * 1e3:9.1f} {ratio:5.2f}x  {diff:.1e}")
    verdict = "OK" if worst_target <= TARGET else "OVER TARGET"
    print(f"target case: numpy/torch = {worst_target:.2f}x (target <= {TARGET:.0f}x): {verdict}")


if __name__ == "__main__":
    main()
