"""The models of the distributed tests (FILE.py:NAME targets every rank builds): a
CNN with BatchNorm (buffers, in-place ReLU), a transformer block (pre-norm, SDPA, MLP),
a model whose parameters do not split evenly over 2 or 4 ranks (dim 0 of 7, 5, 3, 1:
torch.chunk makes fewer pieces than ranks), and two that go wrong on one rank only
(raise, hang) for the clean-up tests, and one built only with a keyword value
(NeedsWidth: --set width=N). DIST_MODELS: name -> (target, input shape)."""

import time

import torch.nn as nn
import torch.nn.functional as F

import train_models


def build_cnn_bn():
    return train_models.build_cnn_bn()


class TransformerBlock(nn.Module):
    def __init__(self, dim=64, heads=4):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, n, 3, self.heads, c // self.heads) \
            .permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)
        x = x + self.proj(y.transpose(1, 2).reshape(b, n, c))
        return x + self.mlp(self.ln2(x))


class Uneven(nn.Module):
    """Dim 0 of 7, 5, 3 and 1: over 4 ranks torch.chunk gives 4 pieces of 2, 2, 2, 1
    rows (7), 2, 2, 1, 0 (5), 1, 1, 1, 0 (3) and one piece (1)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 7, 3, padding=1)
        self.bn = nn.BatchNorm2d(7)
        self.conv2 = nn.Conv2d(7, 5, 3)
        self.fc = nn.Linear(5 * 6 * 6, 3)
        self.out = nn.Linear(3, 1)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = F.relu(self.conv2(x))
        return self.out(F.relu(self.fc(x.flatten(1))))


class NeedsWidth(nn.Module):
    """Built only with a keyword value (summary --set width=N): each rank must get it."""

    def __init__(self, *, width):
        super().__init__()
        self.first = nn.Linear(8, width)
        self.head = nn.Linear(width, 3)

    def forward(self, x):
        return self.head(F.relu(self.first(x)))


class FailsOnRank1(nn.Sequential):
    def __init__(self):
        super().__init__(nn.Linear(8, 8))

    def forward(self, x):
        if _rank() == 1:
            raise ValueError("rank 1 refuses")
        return super().forward(x)


class HangsOnRank1(FailsOnRank1):
    def forward(self, x):
        if _rank() == 1:
            time.sleep(3600)
        return nn.Sequential.forward(self, x)


def _rank() -> int:
    import torch.distributed as dist
    return dist.get_rank() if dist.is_initialized() else 0


DIST_MODELS = {"cnn": ("build_cnn_bn", (3, 32, 32)), "block": ("TransformerBlock", (16, 64)),
               "uneven": ("Uneven", (3, 8, 8))}
