"""Does `convcli run` report what the conv costs, or its own overhead too?

Times the same conv (8x64x56x56, Conv2d(64, 64, 3, padding=1), float32) two ways in
one process, interleaved round by round so that machine load hits both alike:
  * plain:   a bare torch loop, `y = F.conv2d(x, w, b, 1, 1)` between two clock reads
             (CUDA: events + synchronize, as convcli does);
  * convcli: engine.run.run(...), the function behind `convcli run`, its reported median.
Prints both medians and convcli/plain (target <= 1.05; the median of the per-round
ratios, robust to other load on the machine), then convcli's GFLOP/s against
torch.mm on the same device: the conv's im2col GEMM ((N*H*W) x (C_in*k*k) @ ... x C_out,
the same FLOPs) and a square 2048^3 matmul, the practical ceiling.

    python benchmarks/run_overhead.py [--device cpu] [--rounds 21] [--repeat 7] [-v]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from convcli.engine.devices import resolve_device  # noqa: E402
from convcli.engine.conv_run import RunOptions, run  # noqa: E402
from convcli.calculator.spec import ConvSpec  # noqa: E402

SHAPE = (8, 64, 56, 56)
SPEC = ConvSpec(2, 64, 64, 3, padding=1)


def timed(fn, repeat: int, warmup: int, cuda: bool) -> list[float]:
    """Milliseconds per call of a bare loop."""
    with torch.inference_mode():
        for _ in range(warmup):
            fn()
        times = []
        if cuda:
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            for _ in range(repeat):
                start.record()
                y = fn()
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
        else:
            for _ in range(repeat):
                t0 = time.perf_counter_ns()
                y = fn()
                times.append((time.perf_counter_ns() - t0) / 1e6)
        del y
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--verbose", "-v", action="store_true", help="print every round")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch.set_num_threads (0: torch's default); 1 is less sensitive "
                         "to other load on a small machine")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    cuda = dev.is_cuda
    # the very tensors convcli builds for seed 0: standard normal input, default init
    x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0)).to(dev.name)
    torch.manual_seed(0)
    m = torch.nn.Conv2d(64, 64, 3, padding=1).to(dev.name)
    w, b = m.weight.detach(), m.bias.detach()
    F = torch.nn.functional

    plain_ms, convcli_ms, ratios, plain_min, convcli_min, gflops = [], [], [], [], [], []
    for r in range(args.rounds):
        pt = timed(lambda: F.conv2d(x, w, b, 1, 1), args.repeat, args.warmup, cuda)
        res = run(SPEC, SHAPE, RunOptions(device=dev.name, repeat=args.repeat,
                                          warmup=args.warmup))
        p, c = statistics.median(pt), res.timing.median_ms
        plain_ms.append(p)
        convcli_ms.append(c)
        ratios.append(c / p)
        plain_min.append(min(pt))
        convcli_min.append(res.timing.min_ms)
        gflops.append(res.gflops)
        if args.verbose:
            print(f"round {r + 1:2}: plain {p:8.3f} ms   convcli {c:8.3f} ms   ratio {c / p:.3f}")
    ratio = statistics.median(ratios)
    flops = SPEC.flops(SHAPE)
    print(f"device {dev.name} ({dev.description}), torch {torch.__version__}; {args.rounds} "
          f"interleaved rounds, each {args.repeat} calls after {args.warmup} warmup per side")
    print(f"{SPEC.torch_repr()} on {'x'.join(map(str, SHAPE))}: {flops / 1e9:.3f} GFLOP per call")
    print(f"{'':28}{'plain torch':>14}{'convcli':>14}{'ratio':>9}")
    print(f"{'median of round medians':28}{statistics.median(plain_ms):11.3f} ms"
          f"{statistics.median(convcli_ms):11.3f} ms"
          f"{statistics.median(convcli_ms) / statistics.median(plain_ms):9.3f}")
    print(f"{'fastest call':28}{min(plain_min):11.3f} ms{min(convcli_min):11.3f} ms"
          f"{min(convcli_min) / min(plain_min):9.3f}")
    print(f"median of paired ratios (convcli / plain): {ratio:.3f}  (target <= 1.05: "
          f"{'met' if ratio <= 1.05 else 'NOT met'}; spread "
          f"{min(ratios):.2f}..{max(ratios):.2f})")
    print()

    n, h, wd = SHAPE[0], SHAPE[2], SHAPE[3]
    gemm_m, gemm_k, gemm_n = n * h * wd, 64 * 9, 64
    a = torch.randn(gemm_m, gemm_k, device=dev.name)
    bm = torch.randn(gemm_k, gemm_n, device=dev.name)
    gemm_ms = statistics.median(timed(lambda: torch.mm(a, bm), args.repeat, args.warmup, cuda))
    sq = torch.randn(2048, 2048, device=dev.name)
    sq_ms = statistics.median(timed(lambda: torch.mm(sq, sq), max(5, args.repeat // 2),
                                    args.warmup, cuda))
    gemm_gf = 2 * gemm_m * gemm_k * gemm_n / (gemm_ms / 1e3) / 1e9
    sq_gf = 2 * 2048 ** 3 / (sq_ms / 1e3) / 1e9
    conv_gf = statistics.median(gflops)
    ceiling = max(gemm_gf, sq_gf)
    print(f"convcli reported          {conv_gf:8.1f} GFLOP/s (2*MACs / median)")
    print(f"torch.mm im2col GEMM      {gemm_gf:8.1f} GFLOP/s  "
          f"({gemm_m}x{gemm_k} @ {gemm_k}x{gemm_n}, same FLOPs)")
    print(f"torch.mm 2048^3           {sq_gf:8.1f} GFLOP/s")
    print(f"conv / best matmul        {conv_gf / ceiling:8.2f}")


if __name__ == "__main__":
    main()
