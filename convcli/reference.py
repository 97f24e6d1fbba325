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

Vectorised: the conv is im2col (``sliding_window_view``) then one batched matmul over
the groups; the transposed conv is one batched matmul then a scatter-add per kernel
offset. Computes in float32 or float64 (float16 inputs are computed in float32).
"""

from __future__ import annotations

from itertools import product
from math import prod

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convcli.errors import ConvError
from convcli.spec import ConvSpec

# torch padding_mode -> np.pad mode
PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
             "circular": "wrap"}


def _compute_dtype(*arrays) -> np.dtype:
    return np.result_type(*(a.dtype for a in arrays if a is not None), np.float32)


def pad(spec: ConvSpec, x: np.ndarray) -> np.ndarray:
    """x (N, C, *L) padded by ``spec.padding_pairs`` with the spec's padding mode."""
    pairs = [(0, 0), (0, 0)] + [tuple(p) for p in spec.padding_pairs]
    if not any(left or right for left, right in pairs):
        return x
    return np.pad(x, pairs, mode=PAD_MODES[spec.padding_mode])


def conv(spec: ConvSpec, x, weight, bias=None) -> np.ndarray:
    """The output ``spec``'s torch layer gives for input ``x`` with these parameters.

    ``x`` is (N, C_in, *L) or unbatched (C_in, *L); ``weight`` has
    ``spec.weight_shape``; ``bias`` is (C_out,) or None. The input is checked with
    ``spec.check_input`` (ConvError where torch would fail); the output size comes
    from the definition, not from ConvSpec's shape formula (verify compares the two)."""
    x = np.asarray(x)
    weight = np.asarray(weight)
    bias = None if bias is None else np.asarray(bias)
    batched = spec.check_input(x.shape)
    if tuple(weight.shape) != tuple(spec.weight_shape):
        raise ValueError(f"weight shape {weight.shape} != {spec.weight_shape}")
    dtype = _compute_dtype(x, weight, bias)
    xb = (x if batched else x[None]).astype(dtype, copy=False)
    w = weight.astype(dtype, copy=False)
    y = _transposed(spec, xb, w) if spec.transposed else _forward(spec, xb, w)
    if bias is not None:
        y += bias.astype(dtype, copy=False).reshape((-1,) + (1,) * spec.dims)
    return y if batched else y[0]


def _forward(spec: ConvSpec, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    d, G = spec.dims, spec.groups
    n, c = x.shape[:2]
    cg, og = c // G, spec.out_channels // G
    xp = pad(spec, x)
    spatial = tuple(range(2, 2 + d))
    span = tuple(dl * (k - 1) + 1 for k, dl in zip(spec.kernel_size, spec.dilation))
    for i, (size, sp) in enumerate(zip(xp.shape[2:], span)):
        if size < sp:
            raise ConvError(f"spatial dim {i}: the padded input is {size} but the kernel "
                            f"spans {sp}; the window must fit")
    # (N, C, *window positions, *span) -> keep every s-th position, every dil-th tap
    win = sliding_window_view(xp, span, axis=spatial)
    win = win[(slice(None), slice(None))
              + tuple(slice(None, None, s) for s in spec.stride)
              + tuple(slice(None, None, dl) for dl in spec.dilation)]
    out_sp = win.shape[2:2 + d]
    kk = prod(spec.kernel_size)
    # im2col: (G, N*prod(out), Cg*K), one contiguous copy
    cols = win.reshape((n, G, cg) + out_sp + tuple(spec.kernel_size))
    order = (1, 0) + tuple(range(3, 3 + d)) + (2,) + tuple(range(3 + d, 3 + 2 * d))
    cols = cols.transpose(order).reshape(G, n * prod(out_sp), cg * kk)
    wg = w.reshape(G, og, cg * kk).transpose(0, 2, 1)          # (G, Cg*K, Og)
    y = np.matmul(cols, wg)                                      # (G, N*out, Og)
    y = y.reshape((G, n) + out_sp + (og,))
    y = y.transpose((1, 0, 2 + d) + tuple(range(2, 2 + d)))      # (N, G, Og, *out)
    return np.ascontiguousarray(y).reshape((n, G * og) + out_sp)


def _transposed(spec: ConvSpec, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    d, G = spec.dims, spec.groups
    n, c = x.shape[:2]
    cg, og = c // G, spec.out_channels // G
    size_in = x.shape[2:]
    ks = tuple(spec.kernel_size)
    kk = prod(ks)
    # every input element times every (o, tap) weight: (G, N*prod(L), Og*K)
    xs = x.reshape((n, G, cg, prod(size_in))).transpose(1, 0, 3, 2)
    xs = xs.reshape(G, n * prod(size_in), cg)
    wg = w.reshape(G, cg, og * kk)
    t = np.matmul(xs, wg).reshape((G, n) + tuple(size_in) + (og,) + ks)
    # -> (N, C_out, *k, *L) so that one kernel offset is one (N, C_out, *L) block
    order = (1, 0, 2 + d) + tuple(range(3 + d, 3 + 2 * d)) + tuple(range(2, 2 + d))
    t = np.ascontiguousarray(t.transpose(order)).reshape(
        (n, G * og) + ks + tuple(size_in))
    # full (uncropped) output; output_padding extends the end
    full = tuple((L - 1) * s + dl * (k - 1) + 1 + op for L, s, dl, k, op in zip(
        size_in, spec.stride, spec.dilation, ks, spec.output_padding))
    for i, (f, (p, _)) in enumerate(zip(full, spec.padding_pairs)):
        if f - 2 * p < 1:
            raise ConvError(f"spatial dim {i}: the output size would be {f - 2 * p}; "
                            "a transposed conv needs at least 1")
    y = np.zeros((n, G * og) + full, dtype=t.dtype)
    for j in product(*(range(k) for k in ks)):
        target = tuple(slice(jj * dl, jj * dl + (L - 1) * s + 1, s) for jj, dl, L, s in zip(
            j, spec.dilation, size_in, spec.stride))
        y[(slice(None), slice(None)) + target] += t[(slice(None), slice(None)) + j]
    crop = tuple(slice(p, f - p) for (p, _), f in zip(spec.padding_pairs, full))
    # the last output_padding positions lie past the full conv's end only when
    # output_padding > padding; they stay zero (plus bias), as in torch
    return y[(slice(None), slice(None)) + crop]
