"""A numpy reference convolution written from the definition, independent of torch.

``conv(spec, x, weight, bias)`` computes what ``nn.ConvNd`` / ``nn.ConvTransposeNd``
built from ``spec`` computes, for 1d/2d/3d, batched or unbatched inputs, groups,
stride, dilation, padding (including 'same' with its asymmetric split from
``spec.padding_pairs``), padding modes and transposed convs with output_padding.

The definitions, per group g with Cg = C_in/G input and Og = C_out/G output channels:

* conv:  y[n, g*Og+o, i] = b[g*Og+o] + sum_{c, j} w[g*Og+o, c, j] * xp[n, g*Cg+c, i*s + j*dil]
  where xp is x padded by ``padding_pairs`` with the padding mode
  (torch 'zeros' = numpy 'constant', 'reflect' = 'reflect', 'replicate' = 'edge',
  'circular' = 'wrap');
* transposed:  every input element scatters into the output:
  y[n, g*Og+o, i*s + j*dil - p] += x[n, g*Cg+c, i] * w[g*Cg+c, o, j], then bias;
  output positions run over 0 .. (L-1)*s - 2p + dil*(k-1) + output_padding.

Vectorised, channels last: the conv is im2col (``sliding_window_view``) then one
batched matmul over the groups; the transposed conv is one batched matmul then a
scatter-add per kernel offset; large batches run in chunks. Computes in float32 or
float64 (float16 inputs are computed in float32).
"""

from __future__ import annotations

from itertools import product
from math import prod

from typing import TYPE_CHECKING, Any, Literal

from convcli.calculator.conv_checks import check_input
from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError

if TYPE_CHECKING:
    import numpy as np

# torch padding_mode -> np.pad mode
CHUNK_BYTES = 256 * 2 ** 20   # working memory per batch chunk

# (numpy's np.pad takes its mode as one of these literals)
PAD_MODES: dict[str, Literal["constant", "reflect", "edge", "wrap"]] = {
    "zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _compute_dtype(*arrays) -> np.dtype:
    import numpy as np
    return np.result_type(*(a.dtype for a in arrays if a is not None), np.float32)


def pad(spec: ConvSpec, x: np.ndarray) -> np.ndarray:
    """x (N, C, *L) padded by ``spec.padding_pairs`` with the spec's padding mode; a
    negative padding (non-'zeros' modes) crops, as F.pad does."""
    import numpy as np
    pairs = [(0, 0), (0, 0)] + [tuple(p) for p in spec.padding_pairs]
    if not any(left or right for left, right in pairs):
        return x
    x = x[tuple(slice(max(0, -a), n - max(0, -b)) for n, (a, b) in zip(x.shape, pairs))]
    return np.pad(x, [(max(0, a), max(0, b)) for a, b in pairs],
                  mode=PAD_MODES[spec.padding_mode])


def conv(spec: ConvSpec, x, weight, bias=None) -> np.ndarray:
    """The output ``spec``'s torch layer gives for input ``x`` with these parameters.

    ``x`` is (N, C_in, *L) or unbatched (C_in, *L); ``weight`` has
    ``spec.weight_shape``; ``bias`` is (C_out,) or None. The input is checked with
    ``spec.check_input`` (ConvError where torch would fail); the output size comes
    from the definition, not from ConvSpec's shape formula (verify compares the two)."""
    import numpy as np
    x = np.asarray(x)
    weight = np.asarray(weight)
    bias = None if bias is None else np.asarray(bias)
    batched = check_input(spec, x.shape)
    if tuple(weight.shape) != tuple(spec.weight_shape):
        raise ValueError(f"weight shape {weight.shape} != {spec.weight_shape}")
    dtype = _compute_dtype(x, weight, bias)
    if 0 in x.shape:   # an empty input (N=0, C=0, or an empty dim torch allows then):
        return np.zeros(spec.output_shape(x.shape), dtype)   # no value to compute
    xb = (x if batched else x[None]).astype(dtype, copy=False)
    w = weight.astype(dtype, copy=False)
    fn = _transposed if spec.transposed else _forward
    # im2col holds C_in * prod(k) values per output position: run the batch in chunks
    # that keep it under CHUNK_BYTES
    per_sample = (prod(spec.kernel_size) * max(spec.in_channels, spec.out_channels)
                  * prod(_full_or_out(spec, xb.shape[2:])) * xb.itemsize)
    step = max(1, CHUNK_BYTES // max(1, per_sample))
    if step >= xb.shape[0]:
        y = fn(spec, xb, w)
    else:
        y = np.concatenate([fn(spec, xb[i:i + step], w) for i in range(0, xb.shape[0], step)])
    if bias is not None:
        y += bias.astype(dtype, copy=False).reshape((-1,) + (1,) * spec.dims)
    return y if batched else y[0]


def _full_or_out(spec: ConvSpec, size_in) -> tuple[int, ...]:
    """An upper bound of the spatial positions im2col or the scatter buffer holds."""
    return tuple((n + 2 * max(pl, pr)) if not spec.transposed else
                 (n - 1) * s + dl * (k - 1) + 1 + op
                 for n, (pl, pr), s, dl, k, op in zip(
                     size_in, spec.padding_pairs, spec.stride, spec.dilation,
                     spec.kernel_size, spec.output_padding))


def _forward(spec: ConvSpec, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    d, G = spec.dims, spec.groups
    n, c = x.shape[:2]
    cg, og = c // G, spec.out_channels // G
    xp = pad(spec, x)
    span = tuple(dl * (k - 1) + 1 for k, dl in zip(spec.kernel_size, spec.dilation))
    for i, (size, sp) in enumerate(zip(xp.shape[2:], span)):
        if size < sp:
            raise ConvError(f"spatial dim {i}: the padded input is {size} but the kernel "
                            f"spans {sp}; the window must fit")
    # channels last, so that im2col copies runs of contiguous channels
    xc = np.ascontiguousarray(np.moveaxis(xp, 1, -1))           # (N, *P, C)
    # axis as Any: numpy < 2.3's stubs (the last numpy for Python 3.10) type it one index
    axes: Any = tuple(range(1, 1 + d))
    win = sliding_window_view(xc, span, axis=axes)                 # (N, *pos, C, *span)
    win = win[(slice(None),)
              + tuple(slice(None, None, s) for s in spec.stride)
              + (slice(None),)
              + tuple(slice(None, None, dl) for dl in spec.dilation)]  # (N, *out, C, *k)
    out_sp = win.shape[1:1 + d]
    ks = tuple(spec.kernel_size)
    kk = prod(ks)
    win = win.reshape((n,) + out_sp + (G, cg) + ks)
    # im2col: (G, N*prod(out), K*Cg), one copy; the weight in the same (k..., c) order
    order = (1 + d, 0) + tuple(range(1, 1 + d)) + tuple(range(3 + d, 3 + 2 * d)) + (2 + d,)
    cols = win.transpose(order).reshape(G, n * prod(out_sp), kk * cg)
    wg = w.reshape((G, og, cg) + ks).transpose((0,) + tuple(range(3, 3 + d)) + (2, 1))
    wg = wg.reshape(G, kk * cg, og)
    y = np.matmul(cols, wg)                                      # (G, N*out, Og)
    y = y.reshape((G, n) + out_sp + (og,))
    y = y.transpose((1, 0, 2 + d) + tuple(range(2, 2 + d)))      # (N, G, Og, *out)
    return np.ascontiguousarray(y).reshape((n, G * og) + out_sp)


def _transposed(spec: ConvSpec, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    import numpy as np
    d, G = spec.dims, spec.groups
    n, c = x.shape[:2]
    cg, og = c // G, spec.out_channels // G
    size_in = tuple(x.shape[2:])
    ks = tuple(spec.kernel_size)
    kk = prod(ks)
    full = tuple((L - 1) * s + dl * (k - 1) + 1 + op for L, s, dl, k, op in zip(
        size_in, spec.stride, spec.dilation, ks, spec.output_padding))
    for i, (f, (p, _)) in enumerate(zip(full, spec.padding_pairs)):
        if f - 2 * p < 1:
            raise ConvError(f"spatial dim {i}: the output size would be {f - 2 * p}; "
                            "a transposed conv needs at least 1")
    # every input element times every (tap, o) weight: (G, N*prod(L), K*Og)
    xc = np.moveaxis(x, 1, -1).reshape(n * prod(size_in), G, cg).transpose(1, 0, 2)
    wg = w.reshape((G, cg, og) + ks).transpose((0, 1) + tuple(range(3, 3 + d)) + (2,))
    t = np.matmul(xc, wg.reshape(G, cg, kk * og))
    t = t.reshape((G, n) + size_in + ks + (og,))
    # scatter-add per kernel offset into a channels-last (N, *full, G, Og) buffer;
    # output_padding extends the end of the full (uncropped) output
    y = np.zeros((n,) + full + (G, og), dtype=t.dtype)
    for j in product(*(range(k) for k in ks)):
        target = tuple(slice(jj * dl, jj * dl + (L - 1) * s + 1, s) for jj, dl, L, s in zip(
            j, spec.dilation, size_in, spec.stride))
        tj = t[(slice(None),) * (2 + d) + j]                     # (G, N, *L, Og)
        y[(slice(None),) + target] += np.moveaxis(tj, 0, -2)
    # crop padding on both sides; the last output_padding positions lie past the full
    # conv's end only when output_padding > padding: they stay zero (plus bias), as in torch
    crop = tuple(slice(p, f - p) for (p, _), f in zip(spec.padding_pairs, full))
    y = y[(slice(None),) + crop].reshape((n,) + tuple(f - 2 * p for (p, _), f in zip(
        spec.padding_pairs, full)) + (G * og,))
    return np.ascontiguousarray(np.moveaxis(y, -1, 1))
