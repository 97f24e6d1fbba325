"""Small plain-torch models that reproduce what real models do (torchvision, timm,
detectron2 patterns, without them): subclassed convs and Linears, attention written
with SDPA, with @ and with einsum/baddbmm, nn.MultiheadAttention, a data-dependent
detection head with tensor attributes built in __init__, two inputs, a keyword input,
int64 token ids, a bool mask, recurrent layers and zero-cost modules that must not
raise false alarms. Also usable as FILE.py:NAME targets (the build_* functions).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

F32, I64, BOOL = torch.float32, torch.int64, torch.bool


# ---- subclassed layers (timm StdConv2d, torchvision Conv3DSimple, ...) ------------------

class StdConv2d(nn.Conv2d):
    """timm's StdConv2d: standardises its weight in forward(), then F.conv2d."""

    def __init__(self, *a, eps=1e-6, **k):
        super().__init__(*a, **k)
        self.eps = eps

    def forward(self, x):
        w = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                         training=True, momentum=0., eps=self.eps).reshape_as(self.weight)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv3DSimple(nn.Conv3d):
    """torchvision's video Conv3DSimple: a subclass that only changes __init__."""

    def __init__(self, c_in, c_out, stride=1):
        super().__init__(c_in, c_out, (3, 3, 3), stride=stride, padding=1, bias=False)


class UpConv(nn.ConvTranspose2d):
    pass


class ScaledLinear(nn.Linear):
    """A Linear subclass whose forward calls F.linear on a rescaled weight."""

    def forward(self, x):
        return F.linear(x, self.weight * 0.5, self.bias)


class SubclassNet(nn.Module):
    """BiT-like stem (StdConv2d + GroupNorm), a grouped StdConv, a 3-d conv subclass, a
    transposed-conv subclass and a Linear subclass."""

    def __init__(self):
        super().__init__()
        self.stem = StdConv2d(3, 32, 7, stride=2, padding=3, bias=False)
        self.gn = nn.GroupNorm(8, 32)
        self.grouped = StdConv2d(32, 64, 3, padding=1, groups=4)
        self.video = Conv3DSimple(64, 16)
        self.up = UpConv(16, 8, 4, stride=2, padding=1, groups=2)
        self.head = ScaledLinear(8, 10)

    def forward(self, x):
        x = self.grouped(F.relu(self.gn(self.stem(x))))
        x = self.video(x.unsqueeze(2).expand(-1, -1, 4, -1, -1)).mean(2)
        x = self.up(x)
        return self.head(x.mean((2, 3)))


# ---- attention -------------------------------------------------------------------------

class AttnSDPA(nn.Module):
    def __init__(self, dim=64, heads=4, causal=False):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class AttnMatmul(AttnSDPA):
    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        a = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
        x = a.softmax(-1) @ v
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class AttnEinsum(AttnSDPA):
    """einsum for scores, baddbmm with a relative-position bias (Swin-like), bmm for values."""

    def __init__(self, dim=64, heads=4, n=49):
        super().__init__(dim, heads)
        self.rel_bias = nn.Parameter(torch.zeros(heads, n, n))

    def forward(self, x):
        b, n, c = x.shape
        h, d = self.heads, c // self.heads
        q, k, v = self.qkv(x).reshape(b, n, 3, h, d).permute(2, 0, 3, 1, 4)
        s = torch.einsum("bhqd,bhkd->bhqk", q, k)
        s = torch.baddbmm(self.rel_bias.expand(b, h, n, n).reshape(b * h, n, n),
                          q.reshape(b * h, n, d), k.reshape(b * h, n, d).transpose(1, 2))
        x = torch.bmm(s.softmax(-1), v.reshape(b * h, n, d)).reshape(b, h, n, d)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class MHABlock(nn.Module):
    def __init__(self, dim=64, heads=4):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x):
        y = self.norm(x)
        return x + self.attn(y, y, y, need_weights=False)[0]


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, attn=AttnSDPA):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), attn(dim, heads)
        self.norm2, self.mlp = nn.LayerNorm(dim), Mlp(dim, 4 * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """ViT-like: patch conv, cls token and pos embed as the root's own Parameters."""

    def __init__(self, img=64, patch=8, dim=64, depth=3, heads=4, classes=10, attn=AttnSDPA):
        super().__init__()
        n = (img // patch) ** 2
        self.patch = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, n + 1, dim))
        self.blocks = nn.Sequential(*[Block(dim, heads, attn) for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        return self.head(self.norm(self.blocks(x))[:, 0])


class SeqWrap(nn.Module):
    """(B, N, C) attention layer on tokens from a patch conv."""

    def __init__(self, layer):
        super().__init__()
        self.patch = nn.Conv2d(3, 64, 8, stride=8)
        self.layer = layer

    def forward(self, x):
        return self.layer(self.patch(x).flatten(2).transpose(1, 2))


class TorchEncoder(nn.Module):
    """nn.TransformerEncoder: its own fast path (_transformer_encoder_layer_fwd)."""

    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(64, 4, 128, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)

    def forward(self, x):
        return self.enc(x)


# ---- non-local block (bmm) ----------------------------------------------------------------

class NonLocal(nn.Module):
    def __init__(self, c=64):
        super().__init__()
        self.theta, self.phi, self.g = (nn.Conv2d(c, c // 2, 1) for _ in range(3))
        self.out = nn.Conv2d(c // 2, c, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.theta(x).flatten(2).transpose(1, 2)
        p = self.phi(x).flatten(2)
        g = self.g(x).flatten(2).transpose(1, 2)
        a = torch.bmm(t, p).softmax(-1)
        y = torch.bmm(a, g).transpose(1, 2).reshape(b, c // 2, h, w)
        return x + self.out(y)


class NonLocalNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64),
                                  nn.ReLU())
        self.nl = NonLocal(64)

    def forward(self, x):
        return self.nl(self.stem(x))


# ---- data-dependent detection-like head --------------------------------------------------

class DetHead(nn.Module):
    """Anchors built in __init__ as a plain tensor attribute; forward thresholds scores,
    uses nonzero / boolean masks / .item(), and runs a second stage on the kept boxes."""

    def __init__(self, c=32, anchors=3, feat=16):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, c, 3, stride=4, padding=1), nn.ReLU())
        self.cls = nn.Conv2d(c, anchors, 3, padding=1)
        self.box = nn.Conv2d(c, anchors * 4, 3, padding=1)
        ys, xs = torch.meshgrid(torch.arange(feat), torch.arange(feat), indexing="ij")
        self.anchors = torch.stack([xs, ys, xs + 1, ys + 1], -1).float().repeat(anchors, 1, 1, 1)
        self.roi = nn.Linear(4, 16)  # second stage on the kept boxes

    def forward(self, x):
        f = self.backbone(x)
        scores = self.cls(f).sigmoid()
        deltas = self.box(f).reshape(x.shape[0], -1, 4, *f.shape[-2:]).permute(0, 1, 3, 4, 2)
        keep = scores[0] > 0.3                                  # boolean mask
        boxes = (self.anchors + deltas[0])[keep]                # -> nonzero
        if keep.sum().item() == 0:                              # .item()
            boxes = self.anchors.reshape(-1, 4)[:10]
        return self.roi(boxes)


# ---- inputs -------------------------------------------------------------------------------

def _example(name):
    """A model of examples/models/inputs.py (the docs' own), so the suite checks it."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "examples" / "models" / "inputs.py"
    spec = importlib.util.spec_from_file_location("_convcli_example_inputs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


# optical-flow style forward(image1, image2): shared encoder, correlation by bmm
TwoInput = _example("Flow")


class KeywordInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.gate = nn.Conv2d(1, 16, 1)

    def forward(self, x, mask=None):
        y = self.conv(x)
        if mask is not None:
            y = y * torch.sigmoid(self.gate(mask))
        return y


class TextEncoder(nn.Module):
    """int64 token ids -> nn.Embedding -> transformer blocks (MHA) -> Linear."""

    def __init__(self, vocab=1000, dim=64):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.blocks = nn.Sequential(MHABlock(dim), MHABlock(dim))
        self.out = nn.Linear(dim, 2)

    def forward(self, ids, attn_mask=None):
        return self.out(self.blocks(self.emb(ids)).mean(1))


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(32, 64, num_layers=2, batch_first=True)
        self.fc = nn.Linear(64, 4)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][:, -1])


class Bilinear(nn.Module):
    """nn.Bilinear (aten._trilinear) and torch.mv: MAC work FlopCounterMode does not count."""

    def __init__(self):
        super().__init__()
        self.bil = nn.Bilinear(16, 16, 8)
        self.v = nn.Parameter(torch.zeros(8))

    def forward(self, x):
        return torch.mv(self.bil(x, x), self.v)


class MaskedPool(nn.Module):
    """forward(x, valid) with a bool mask: masked_fill, then a Linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x, valid):
        y = self.conv(x).masked_fill(~valid[:, None], 0.0)
        return self.fc(y.mean((2, 3)))


class StochasticDepth(nn.Module):
    def __init__(self, p=0.1):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        keep = torch.empty(x.shape[0], 1, 1, 1, device=x.device).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class Permute(nn.Module):
    def __init__(self, *dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)


class LayerNorm2d(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class BatchNormAct2d(nn.BatchNorm2d):
    def forward(self, x):
        return F.relu(super().forward(x))


class ZeroCostZoo(nn.Module):
    """Modules without MACs that tools without a rule for them flag: none must make the
    total 'at least'."""

    def __init__(self):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = BatchNormAct2d(8)
        self.drop = StochasticDepth()
        self.to_nhwc = Permute(0, 2, 3, 1)
        self.to_nchw = Permute(0, 3, 1, 2)
        self.ln = LayerNorm2d(8)
        self.shuffle = nn.ChannelShuffle(2)
        self.up = nn.Upsample(scale_factor=2)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.bn(self.conv(self.quant(x)))
        x = self.to_nchw(self.to_nhwc(self.drop(x)))
        return self.dequant(self.up(self.shuffle(self.ln(x))))


# ---- more of what real forwards do (resampling, checkpointing, dict outputs, ...) ------

class Interpolate(nn.Module):
    """A decoder's upsampling: F.interpolate after a conv (no MACs of its own)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        return F.interpolate(self.conv(x), scale_factor=2, mode="bilinear",
                             align_corners=False)


class GridSample(nn.Module):
    """A spatial transformer: the grid is made in forward() on the CPU (torch.eye), so
    the meta pass cannot run it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        theta = torch.eye(2, 3).unsqueeze(0).expand(x.shape[0], 2, 3)
        y = self.conv(x)
        grid = F.affine_grid(theta, list(y.shape), align_corners=False)
        return F.grid_sample(y, grid, align_corners=False)


class Checkpointed(nn.Module):
    """Activation checkpointing (torch.utils.checkpoint) around a block."""

    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
        self.head = nn.Conv2d(8, 8, 3)

    def forward(self, x):
        from torch.utils.checkpoint import checkpoint
        return self.head(checkpoint(self.block, x, use_reentrant=False))


class DictHeads(nn.Module):
    """A detector's heads in an nn.ModuleDict, returning a dict."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.heads = nn.ModuleDict({"cls": nn.Linear(48, 10), "box": nn.Linear(48, 4)})

    def forward(self, x):
        f = self.conv(x).flatten(1)
        return {k: h(f) for k, h in self.heads.items()}


class FullTransformer(nn.Module):
    """nn.Transformer, encoder and decoder, with a causal target mask: two inputs."""

    def __init__(self):
        super().__init__()
        self.t = nn.Transformer(d_model=32, nhead=4, num_encoder_layers=1,
                                num_decoder_layers=1, dim_feedforward=64, batch_first=True)

    def forward(self, src, tgt):
        mask = nn.Transformer.generate_square_subsequent_mask(tgt.shape[1], device=tgt.device)
        return self.t(src, tgt, tgt_mask=mask)


class Einsum3(nn.Module):
    """A three-operand einsum (two matmuls)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(16, 16))
        self.v = nn.Parameter(torch.randn(16, 16))

    def forward(self, x):
        return torch.einsum("bi,ij,jk->bk", x, self.w, self.v)


class DilatedTCN(nn.Module):
    """A temporal conv net block: dilated Conv1d, GroupNorm, a causal crop."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 3, dilation=4, padding=8, padding_mode="circular")
        self.norm = nn.GroupNorm(2, 8)

    def forward(self, x):
        return self.norm(self.conv(x))[..., :-8]


IMG = ((1, 3, 64, 64), F32)
TOK = ((2, 65, 64), F32)
MODELS = {
    "subclass_convs_linear": (SubclassNet, [IMG], {}),
    "attn_sdpa": (lambda: SeqWrap(AttnSDPA()), [IMG], {}),
    "attn_matmul": (lambda: SeqWrap(AttnMatmul()), [IMG], {}),
    "attn_einsum_baddbmm": (lambda: SeqWrap(AttnEinsum(n=64)), [IMG], {}),
    "mha_batch_first": (lambda: SeqWrap(MHABlock()), [IMG], {}),
    "vit_sdpa": (ViT, [IMG], {}),
    "vit_matmul": (lambda: ViT(attn=AttnMatmul), [IMG], {}),
    "torch_transformer_encoder": (TorchEncoder, [TOK], {}),
    "non_local": (NonLocalNet, [IMG], {}),
    "det_head": (DetHead, [IMG], {}),
    "two_input": (TwoInput, [IMG, IMG], {}),
    "keyword_input": (KeywordInput, [IMG], {"mask": ((1, 1, 64, 64), F32)}),
    "embedding_int64": (TextEncoder, [((2, 32), I64)], {}),
    "bool_mask": (MaskedPool, [((2, 3, 16, 16), F32)], {"valid": ((2, 16, 16), BOOL)}),
    "lstm": (LSTMNet, [((2, 12, 32), F32)], {}),
    "gru_bidirectional": (lambda: nn.GRU(32, 64, 2, batch_first=True, bidirectional=True),
                          [((2, 12, 32), F32)], {}),
    "zero_cost_zoo": (ZeroCostZoo, [((1, 3, 16, 16), F32)], {}),
    "interpolate": (Interpolate, [((1, 3, 16, 16), F32)], {}),
    "grid_sample": (GridSample, [((1, 3, 16, 16), F32)], {}),
    "checkpointed": (Checkpointed, [((1, 3, 16, 16), F32)], {}),
    "dict_heads": (DictHeads, [((2, 3, 4, 4), F32)], {}),
    "full_transformer": (FullTransformer, [((2, 10, 32), F32), ((2, 7, 32), F32)], {}),
    "einsum3": (Einsum3, [((4, 16), F32)], {}),
    "dilated_tcn": (DilatedTCN, [((2, 4, 50), F32)], {}),
}

# FILE.py:NAME targets for `convcli summary` (one per MODELS entry)
for _k, (_build, _specs, _kw) in MODELS.items():
    globals()["build_" + _k] = _build


def input_flags(name):
    """The --input values of a MODELS entry."""
    _, specs, kwspecs = MODELS[name]

    def text(shape, dtype):
        s = "x".join(map(str, shape))
        return s if dtype is F32 else s + ":" + str(dtype).removeprefix("torch.")
    flags = []
    for shape, dtype in specs:
        flags += ["--input", text(shape, dtype)]
    for key, (shape, dtype) in kwspecs.items():
        flags += ["--input", f"{key}={text(shape, dtype)}"]
    return flags
