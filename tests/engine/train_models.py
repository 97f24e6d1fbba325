"""The four test models of summary --train (CNN with BatchNorm and in-place ReLU,
residual net, transformer blocks with nn.MultiheadAttention and with SDPA, depthwise-
separable net) and a transposed-conv decoder; build_* functions are FILE.py:NAME
targets. TRAIN_MODELS: name -> (build, input shape without the batch)."""

import importlib.util
from pathlib import Path

import torch.nn as nn

from summary_models import AttnSDPA

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models"


def _example(file, name):
    spec = importlib.util.spec_from_file_location("_ex_" + file[:-3], EXAMPLES / file)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, name)


def build_cnn_bn():
    return _example("cifar_cnn_bn.py", "CifarCNNBN")()


def build_depthwise():
    return _example("depthwise_separable.py", "DepthwiseSeparableNet")()


def build_decoder():
    return _example("conv_decoder.py", "ConvDecoder")()


class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if stride != 1 or c_in != c_out:
            self.down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                      nn.BatchNorm2d(c_out))

    def forward(self, x):
        idt = x if self.down is None else self.down(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + idt)


class SmallResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(inplace=True))
        self.layer1 = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 16, 1))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2), BasicBlock(32, 32, 1))
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2), BasicBlock(64, 64, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.fc(self.pool(x).flatten(1))


class BlockMHA(nn.Module):
    """Pre-norm block with nn.MultiheadAttention (need_weights=False: SDPA inside)."""

    def __init__(self, d=128, heads=4, mlp=4, p=0.1):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, dropout=p, batch_first=True)
        self.drop1 = nn.Dropout(p)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, mlp * d), nn.GELU(), nn.Linear(mlp * d, d),
                                 nn.Dropout(p))

    def forward(self, x):
        h = self.ln1(x)
        x = x + self.drop1(self.attn(h, h, h, need_weights=False)[0])
        return x + self.mlp(self.ln2(x))


def SDPAttention(d, heads):
    """GPT-style causal self-attention with F.scaled_dot_product_attention."""
    return AttnSDPA(d, heads, causal=True)


class BlockSDPA(nn.Module):
    """GPT-style block: F.scaled_dot_product_attention, GELU MLP."""

    def __init__(self, d=128, heads=4, mlp=4, p=0.1):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = SDPAttention(d, heads)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, mlp * d), nn.GELU(), nn.Linear(mlp * d, d),
                                 nn.Dropout(p))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


def build_resnet_small():
    return SmallResNet()


def build_transformer_mha():
    return BlockMHA()


def build_transformer_sdpa():
    return BlockSDPA()


TRAIN_MODELS = {
    "cnn_bn": (build_cnn_bn, (3, 32, 32)),
    "resnet_small": (build_resnet_small, (3, 32, 32)),
    "transformer_mha": (build_transformer_mha, (64, 128)),
    "transformer_sdpa": (build_transformer_sdpa, (64, 128)),
    "depthwise": (build_depthwise, (3, 64, 64)),
    "decoder": (build_decoder, (100,)),
}
