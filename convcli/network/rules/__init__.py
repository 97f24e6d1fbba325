"""The layer rules, one module per family as in torch/nn/modules, and the registry:
torch class name -> (signature, builder). Every layer torch builds that convcli knows
has its rule here; a layer convcli does not know is an error that names it, never a
silent zero.

Counting follows costs.py: MACs are the dense multiply-accumulates of convs
(transposed convs per input element) and Linear layers, bias excluded; pooling,
normalisation, activations, dropout, resampling and reshaping count 0 MACs; params
are weight + bias (+ affine) elements. Pure Python.
"""

from __future__ import annotations

from convcli.errors import ConvError
from convcli.network.binding import bind, near
from convcli.network.layer import Layer, Rule
from convcli.network.rules import (activation, convolution, lazy, linear, normalization,
                                   padding, pooling, reshape, resampling)
from convcli.network.rules.activation import Identity
from convcli.network.text import LayerCall

REGISTRY: dict[str, Rule] = {}
for _family in (convolution, pooling, normalization, activation, linear, reshape, padding,
                resampling):
    REGISTRY.update(_family.RULES)
REGISTRY.update(lazy.rules(lambda call: build_layer(call)))
KNOWN_LAYERS = tuple(sorted(REGISTRY) + ["Identity"])


def build_layer(call: LayerCall) -> Layer:
    """A LayerCall bound and checked as torch's constructor would; ConvError for an
    unknown layer (naming it) or arguments torch rejects."""
    if call.name == "Identity":  # nn.Identity(*args, **kwargs) ignores everything
        return Identity(call, {})
    entry = REGISTRY.get(call.name)
    if entry is None:
        lower = {k.lower(): k for k in KNOWN_LAYERS}
        guess = lower.get(call.name.lower()) or next(
            (k for k in KNOWN_LAYERS if near(k.lower(), call.name.lower())), None)
        hint = f" (did you mean {guess}?)" if guess else ""
        raise ConvError(
            f"{call}: convcli has no rule for the layer {call.name!r}{hint}, so it cannot "
            "give its shape or cost. It knows: "
            "Conv/ConvTranspose/MaxPool/AvgPool/LPPool/AdaptiveAvgPool/AdaptiveMaxPool/"
            "BatchNorm/InstanceNorm 1d-3d, SyncBatchNorm, GroupNorm, LayerNorm, RMSNorm, "
            "Linear, Flatten, Unflatten, Upsample, PixelShuffle, ChannelShuffle, padding "
            "layers, Lazy layers, Dropout variants, Identity and the "
            "activations (see `convcli net --help`); for any other module run `convcli "
            "summary` on a model file")
    signature, builder = entry
    layer = builder(call, bind(call, signature))
    layer.signature = signature
    return layer
