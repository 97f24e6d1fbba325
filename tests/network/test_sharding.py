"""network/sharding.py against torch: FSDP2's padded pieces against torch.chunk and
fully_shard's own numbers (on one rank: the arithmetic for N ranks is torch.chunk's),
DDP's bucket assignment against torch.distributed._compute_bucket_assignment_by_size,
the ZeRO definitions, the fewest GPUs, and the usage errors."""

import pytest

from convcli.errors import ConvError
from convcli.network.sharding import (DistOptions, ParamInfo, PerGpu, check, ddp_buckets,
                                      fewest_gpus, per_rank)

SHAPES = [(7, 3), (5,), (3, 3, 3, 3), (1, 4), (16, 8), (2,), (9, 2, 2)]


@pytest.mark.parametrize("world", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("shape", SHAPES)
def test_pieces_are_torch_chunk_padded_to_the_first(shape, world):
    torch = pytest.importorskip("torch")
    p = ParamInfo("w", shape, 4, True, "")
    chunks = list(torch.chunk(torch.empty(shape), world, dim=0))
    for rank in range(world):
        want = chunks[rank].numel() if rank < len(chunks) else 0
        assert p.local_numel(world, rank) == want
    assert p.padded_numel(world) == chunks[0].numel()
    assert sum(p.local_numel(world, r) for r in range(world)) == p.numel


def test_bucket_assignment_is_torchs():
    torch = pytest.importorskip("torch")
    import torch.distributed as dist
    sizes = [(3 << 20, torch.float32), (100, torch.float32), (5 << 20, torch.float32),
             (200 << 10, torch.float16), (7 << 20, torch.float32), (30 << 20, torch.float32),
             (12 << 20, torch.float32), (1, torch.float16)]
    tensors = [torch.empty(n // (2 if d == torch.float16 else 4), dtype=d) for n, d in sizes]
    for cap in (25.0, 4.0):
        limits = [1 << 20 if cap == 25.0 else int(cap * (1 << 20)), int(cap * (1 << 20))]
        buckets, _ = dist._compute_bucket_assignment_by_size(list(reversed(tensors)), limits,
                                                             [False] * len(tensors))
        want = sorted(sum(tensors[len(tensors) - 1 - i].numel()
                          * tensors[len(tensors) - 1 - i].element_size() for i in b)
                      for b in buckets)
        got = ddp_buckets([(t.numel() * t.element_size(), str(t.dtype)) for t in tensors], cap)
        assert sorted(got) == want, cap
        assert sum(got) == sum(t.numel() * t.element_size() for t in tensors)


PARAMS = [ParamInfo(f"u{i}.w", (n, 3), 4, True, f"u{i}", 2 * n * 3 * 4 + 4, 4)
          for i, n in enumerate((5, 8, 3))] + [ParamInfo("root.b", (6,), 4, True, "", 52, 4)]
FIXED = PerGpu(0, 0, 0, 1000, 64, 48, recompute_bytes=0)


def test_zero_definitions_and_fsdp_padding():
    full_p = sum(p.nbytes for p in PARAMS)
    full_s = sum(p.state for p in PARAMS)
    ddp = per_rank(PARAMS, 4, 0, "ddp", FIXED)
    assert (ddp.param_bytes, ddp.grad_bytes, ddp.bucket_bytes) == (full_p, full_p, full_p)
    assert per_rank(PARAMS, 4, 0, "ddp", FIXED, bucket_view=True).bucket_bytes == 0
    z1, z2, z3 = (per_rank(PARAMS, 4, 0, s, FIXED) for s in ("zero1", "zero2", "zero3"))
    assert z1.optimizer_state_bytes == -(-full_s // 4) and z1.grad_bytes == full_p
    assert z2.grad_bytes == -(-full_p // 4) and z2.param_bytes == full_p
    assert z3.param_bytes == -(-full_p // 4)
    # gathered: the root (6 x 4 B, and its gradient) and the largest unit (8 x 3)
    assert z3.gathered_bytes == 2 * 6 * 4 + 2 * 8 * 3 * 4
    fsdp = [per_rank(PARAMS, 4, r, "fsdp", FIXED) for r in range(4)]
    padded = (2 + 2 + 1) * 3 * 4 + 2 * 4        # pieces of 2, 2, 1 rows; 2 of the bias
    assert {f.param_bytes for f in fsdp} == {padded} and fsdp[0].grad_bytes == padded
    # state: zeros_like the unpadded piece, plus the 4-byte step per parameter
    assert [f.optimizer_state_bytes for f in fsdp] == [
        2 * 4 * (6 + 6 + 3 + 2) + 16, 2 * 4 * (6 + 6 + 3 + 2) + 16,
        2 * 4 * (3 + 6 + 3 + 2) + 16, 2 * 4 * (0 + 6 + 0 + 0) + 16]
    # gathered, padded: the root's bias (2 rows x 4 ranks) and a unit of 2 x 3 x 4 ranks
    # (5 x 3 and 8 x 3 both pad to pieces of 2 rows), each with its gradients
    assert fsdp[0].gathered_bytes == 2 * (2 * 4) * 4 + 2 * (2 * 3 * 4) * 4


def test_offload_and_fewest_gpus():
    off = per_rank(PARAMS, 2, 0, "zero3", FIXED, "params")
    plain = per_rank(PARAMS, 2, 0, "zero3", FIXED)
    assert off.host_bytes == plain.param_bytes + plain.grad_bytes + \
        plain.optimizer_state_bytes
    one = per_rank(PARAMS, 1, 0, "fsdp", FIXED).total_bytes
    f = fewest_gpus(PARAMS, "fsdp", FIXED, one - 1, None, False)
    assert f.gpus > 1 and f.total_bytes <= one - 1
    assert per_rank(PARAMS, f.gpus - 1, 0, "fsdp", FIXED).total_bytes > one - 1
    ddp = per_rank(PARAMS, 1, 0, "ddp", FIXED).total_bytes
    assert fewest_gpus(PARAMS, "ddp", FIXED, ddp, None, False).gpus == 1
    assert fewest_gpus(PARAMS, "ddp", FIXED, ddp - 1, None, False).gpus == 0
    assert fewest_gpus(PARAMS, "fsdp", FIXED, 10, None, False).gpus == 0


@pytest.mark.parametrize("options, message", [
    (DistOptions(strategy="zero4"), "--strategy 'zero4': use one of"),
    (DistOptions(gpus=0), "--gpus 0"),
    (DistOptions(gpus=2, offload="optimizer"), "--offload optimizer needs --strategy zero1"),
    (DistOptions(gpus=2, strategy="fsdp", offload="optimizer"), "FSDP2 offloads with"),
    (DistOptions(gpus=2, strategy="zero2", offload="params"), "--offload params needs"),
    (DistOptions(offload="params"), "needs --strategy"),
    (DistOptions(gpus=2, offload="disk"), "use optimizer or params"),
    (DistOptions(gpus=2, shard_unit="Block"), "--shard-unit is for"),
])
def test_usage_errors(options, message):
    with pytest.raises(ConvError, match=message):
        check(options)
