"""Which aten ops do multiply-accumulates, and how many: whole-number arithmetic on
shapes, one formula per op (torch.utils.flop_counter's formulas / 2, plus the matmul-
like ops it misses).

Every op a forward pass reaches is classified once, in this order:

1. counted: its name is in ``FORMULAS``;
2. zero by definition, from torch's own op metadata: a view, an op tagged pointwise,
   reduction, inplace_view, view_copy or data_dependent_output, or the in-place twin
   of such an op (``mish_`` of ``mish``); and, for what the tags miss, a name in
   ``ZERO_MAC`` (norms, softmax, pools, resampling, padding, data movement, creation,
   indexing, and the activations torch leaves untagged: hardswish, log_sigmoid,
   prelu, rrelu, glu);
3. otherwise uncounted: the summary says so by op and module, and ``macs_complete`` is
   false. ``UNCOUNTED_WORK`` names ops known to do MAC work without a formula here
   (never zero, whatever their tags).

Conventions (README, docs/summary.md): MACs exclude bias; a conv is counted per output
position, a transposed conv per input position; SDPA is L*S*(E+Ev) per batch and head,
causal masks not discounted; FLOPs = 2 * MACs. Ops are keyed by name, not by
``torch.ops.aten.X``, so that an op missing from an older torch never fails at import.
torch is imported inside functions.
"""

from __future__ import annotations

from math import prod
from typing import Any, Callable


def _s(t) -> tuple[int, ...]:
    return tuple(t.shape)


def mm_macs(a, b) -> int:
    """(m, k) @ (k, n)."""
    return a[0] * a[1] * b[-1]


def bmm_macs(a, b) -> int:
    """(B, m, k) @ (B, k, n)."""
    return a[0] * a[1] * a[2] * b[-1]


def conv_macs(x, w, out, transposed: bool) -> int:
    """Dense MACs, bias excluded. w is (C_out, C_in/g, *k), or (C_in, C_out/g, *k) when
    transposed; a transposed conv is counted per input element (torch's convention).
    An unbatched input (C, *L) counts as N = 1."""
    d = len(w) - 2
    batch = prod(x[:-d - 1]) if len(x) > d + 1 else 1
    spatial = (x if transposed else out)[-d:] if d else ()
    return batch * prod(spatial) * w[0] * w[1] * prod(w[2:])


def sdpa_macs(q, k, v) -> int:
    """softmax(q k^T) v over any batch dims: q (..., L, E), k (..., S, E), v (..., S, Ev);
    GQA broadcasts k/v heads to q's; causal masks are not discounted."""
    return prod(q[:-2]) * q[-2] * k[-2] * (q[-1] + v[-1])


def _conv(args, kw, out) -> int:
    transposed = bool(args[6]) if len(args) > 6 else bool(kw.get("transposed", False))
    return conv_macs(_s(args[0]), _s(args[1]), _s(out), transposed)


def _conv_plain(args, kw, out) -> int:
    return conv_macs(_s(args[0]), _s(args[1]), _s(out), False)


def _conv_t(args, kw, out) -> int:
    return conv_macs(_s(args[0]), _s(args[1]), _s(out), True)


def _sdpa(args, kw, out) -> int:
    return sdpa_macs(_s(args[0]), _s(args[1]), _s(args[2]))


def _native_mha(args, kw, out) -> int:
    """torch._native_multi_head_attention (MultiheadAttention's fast path): in-
    projections, attention and out-projection. args: q, k, v, embed_dim, heads, ..."""
    q, k = _s(args[0]), _s(args[1])
    b, lq, e = q if len(q) == 3 else (1, *q)
    s = k[-2]
    return b * (lq * e * e + 2 * s * e * e + lq * s * 2 * e + lq * e * e)


def _mkldnn_rnn_layer(args, kw, out) -> int:
    """One layer, one direction of nn.LSTM/GRU on the CPU (oneDNN): every step multiplies
    the input by w_ih and the hidden state by w_hh."""
    x, w_ih, w_hh = _s(args[0]), _s(args[1]), _s(args[2])
    return prod(x[:-1]) * (prod(w_ih) + prod(w_hh))


Formula = Callable[[Any, dict, Any], int]

FORMULAS: dict[str, Formula] = {
    "mm": lambda a, kw, o: mm_macs(_s(a[0]), _s(a[1])),
    "addmm": lambda a, kw, o: mm_macs(_s(a[1]), _s(a[2])),
    "_int_mm": lambda a, kw, o: mm_macs(_s(a[0]), _s(a[1])),
    "_scaled_mm": lambda a, kw, o: mm_macs(_s(a[0]), _s(a[1])),
    "bmm": lambda a, kw, o: bmm_macs(_s(a[0]), _s(a[1])),
    "baddbmm": lambda a, kw, o: bmm_macs(_s(a[1]), _s(a[2])),
    "addbmm": lambda a, kw, o: bmm_macs(_s(a[1]), _s(a[2])),
    # matrix-vector and vector products: MAC work FlopCounterMode does not count
    "mv": lambda a, kw, o: prod(_s(a[0])),
    "addmv": lambda a, kw, o: prod(_s(a[1])),
    "dot": lambda a, kw, o: a[0].numel(),
    "vdot": lambda a, kw, o: a[0].numel(),
    "addr": lambda a, kw, o: o.numel(),
    # convolution: the op F.convNd / F.conv_transposeNd reach; backend ops if called
    "convolution": _conv,
    "_convolution": _conv,
    "convolution_overrideable": _conv,
    "_slow_conv2d_forward": _conv_plain,
    "mkldnn_convolution": _conv_plain,
    "cudnn_convolution": _conv_plain,
    "cudnn_convolution_transpose": _conv_t,
    # attention (on meta SDPA decomposes into bmm's; on a device it is one op)
    "_scaled_dot_product_flash_attention_for_cpu": _sdpa,
    "_scaled_dot_product_flash_attention": _sdpa,
    "_scaled_dot_product_efficient_attention": _sdpa,
    "_scaled_dot_product_cudnn_attention": _sdpa,
    "_scaled_dot_product_fused_attention_overrideable": _sdpa,
    "_native_multi_head_attention": _native_mha,
    # recurrent layers on the CPU (on meta they decompose into addmm per step)
    "mkldnn_rnn_layer": _mkldnn_rnn_layer,
    "_addmm_activation": lambda a, kw, o: mm_macs(_s(a[1]), _s(a[2])),
}
for _name in ("addmm", "baddbmm", "addbmm", "addmv", "addr"):
    FORMULAS[_name + "_"] = FORMULAS[_name]

# MAC work convcli knows it does not count (named in the notes, macs_complete false)
UNCOUNTED_WORK = frozenset({
    "_trilinear", "_transformer_encoder_layer_fwd", "conv_tbc", "_flash_attention_forward",
    "_efficient_attention_forward", "_cdist_forward", "torchvision::deform_conv2d",
    "_weight_int4pack_mm", "_weight_int8pack_mm", "mkldnn_rnn", "_cudnn_rnn", "_fft_r2c",
    "_fft_c2c", "_fft_c2r"})

# zero MACs by the definition; views and ops tagged pointwise or reduction need no entry
ZERO_MAC = frozenset("""
native_batch_norm _native_batch_norm_legit _native_batch_norm_legit_no_training
_native_batch_norm_legit_functional native_layer_norm native_group_norm _fused_rms_norm
_softmax _log_softmax _safe_softmax _weight_norm_interface batch_norm_stats
max_pool1d max_pool2d max_pool3d max_pool2d_with_indices max_pool3d_with_indices
max_pool1d_with_indices avg_pool1d avg_pool2d avg_pool3d _adaptive_avg_pool2d
_adaptive_avg_pool3d adaptive_avg_pool1d adaptive_max_pool1d adaptive_max_pool2d
adaptive_max_pool3d fractional_max_pool2d fractional_max_pool3d lp_pool1d lp_pool2d
upsample_nearest1d upsample_nearest2d upsample_nearest3d _upsample_nearest_exact1d
_upsample_nearest_exact2d _upsample_nearest_exact3d upsample_bilinear2d
_upsample_bilinear2d_aa upsample_bicubic2d _upsample_bicubic2d_aa upsample_linear1d
upsample_trilinear3d grid_sampler_2d grid_sampler_3d affine_grid_generator pixel_shuffle
pixel_unshuffle constant_pad_nd reflection_pad1d reflection_pad2d reflection_pad3d
replication_pad1d replication_pad2d replication_pad3d _pad_circular pad channel_shuffle
native_channel_shuffle im2col col2im
cat stack clone copy_ _to_copy contiguous empty empty_like empty_strided new_empty
new_empty_strided zeros zeros_like ones ones_like full full_like new_zeros new_ones
new_full arange fill_ zero_ scalar_tensor lift_fresh lift_fresh_copy detach_ detach
embedding _embedding_bag embedding_bag index_select gather scatter scatter_ scatter_add
scatter_add_ scatter_reduce index index_put index_put_ index_add index_add_ index_copy
index_copy_ masked_fill masked_fill_ masked_scatter masked_select nonzero nonzero_static
_local_scalar_dense repeat repeat_interleave roll flip tril triu tril_ triu_ topk sort
argsort max min argmax argmin cumsum cumprod cummax cummin logcumsumexp one_hot
_unsafe_index _unsafe_index_put unbind split split_with_sizes chunk tensor_split
_assert_async _assert_tensor_metadata _functional_assert_async linspace logspace randn
rand randint randperm normal_ uniform_ bernoulli bernoulli_ exponential_ random_
native_dropout dropout dropout_ feature_dropout alpha_dropout feature_alpha_dropout
sym_size sym_numel sym_stride _has_compatible_shallow_copy_type set_ resize_
resize_as_ meshgrid where searchsorted bucketize unique_dim _unique2 unique_consecutive
histc bincount _pack_padded_sequence _pad_packed_sequence unfold
_nested_tensor_from_mask rsub clamp clamp_ lerp is_nonzero equal allclose isin _to_dense
_reshape_alias _unsafe_view unsafe_split unsafe_chunk unsafe_split_with_sizes alias
_to_copy _conj _neg_view _efficientzerotensor item diag_embed diagonal_scatter
slice_scatter select_scatter as_strided_scatter diag triu_indices tril_indices
kthvalue median nanmedian mode _cdist_backward count_nonzero eye polar complex
view_as_real view_as_complex _pin_memory pin_memory to record_stream
quantize_per_tensor quantize_per_channel dequantize _make_per_tensor_quantized_tensor
fake_quantize_per_tensor_affine fake_quantize_per_channel_affine
hardswish hardswish_ log_sigmoid_forward log_sigmoid _prelu_kernel prelu
rrelu_with_noise rrelu_with_noise_ rrelu rrelu_ glu mish_ _conj_physical
torchvision::nms torchvision::roi_align torchvision::roi_pool torchvision::ps_roi_align
torchvision::ps_roi_pool
""".split())


def op_name(func) -> str:
    """'mm' for aten::mm (any overload), 'torchvision::nms' for other namespaces."""
    name = func._overloadpacket.__name__
    return name if func.namespace == "aten" else f"{func.namespace}::{name}"


_ZERO_TAGS: tuple = ()
# (not nondeterministic_seeded: torch gives it to attention and RNN kernels too)
ZERO_TAG_NAMES = ("pointwise", "reduction", "inplace_view", "view_copy",
                  "data_dependent_output")


def _zero_tags() -> tuple:
    global _ZERO_TAGS
    if not _ZERO_TAGS:
        import torch
        _ZERO_TAGS = tuple(getattr(torch.Tag, t) for t in ZERO_TAG_NAMES
                           if hasattr(torch.Tag, t))
    return _ZERO_TAGS


def is_zero_mac(func, name: str) -> bool:
    """A view, an op torch tags as doing no multiply-accumulate (``ZERO_TAG_NAMES``),
    the in-place twin of one (``X_`` of ``X``, which torch often leaves untagged), or a
    name in ZERO_MAC. Never an op in UNCOUNTED_WORK."""
    if name in UNCOUNTED_WORK:
        return False
    if func.is_view or name in ZERO_MAC:
        return True
    tags = _zero_tags()
    if any(t in func.tags for t in tags):
        return True
    twin = _functional_twin(func)
    return twin is not None and (twin.is_view or twin._overloadpacket.__name__ in ZERO_MAC
                                 or any(t in twin.tags for t in tags))


def _functional_twin(func):
    """aten.X.default for aten.X_ (any overload), else None."""
    name = func._overloadpacket.__name__
    if func.namespace != "aten" or not name.endswith("_") or name.endswith("__"):
        return None
    import torch
    packet = getattr(torch.ops.aten, name[:-1], None)
    if packet is None:
        return None
    overload = getattr(packet, func._overloadname, None) or getattr(packet, "default", None)
    return overload


def conv_geometry(args, kwargs) -> dict:
    """The arguments of aten.convolution as ConvSpec takes them (from the op, so that
    subclassed and functional convs are checked and shown like nn.ConvNd)."""
    names = ("input", "weight", "bias", "stride", "padding", "dilation", "transposed",
             "output_padding", "groups")
    values = dict(zip(names, args))
    values.update({k: v for k, v in kwargs.items() if k in names})
    x, w = _s(values["input"]), _s(values["weight"])
    g = int(values.get("groups", 1))
    transposed = bool(values.get("transposed", False))
    d = len(w) - 2
    if transposed:
        c_in, c_out = w[0], w[1] * g
    else:
        c_in, c_out = w[1] * g, w[0]
    return {"dims": d, "in_channels": c_in, "out_channels": c_out,
            "kernel_size": tuple(w[2:]), "stride": tuple(values.get("stride", (1,) * d)),
            "padding": tuple(values.get("padding", (0,) * d)),
            "dilation": tuple(values.get("dilation", (1,) * d)), "groups": g,
            "bias": values.get("bias") is not None, "transposed": transposed,
            "output_padding": tuple(values.get("output_padding", (0,) * d)),
            "input_shape": x}
