"""Models whose forward() takes more than one image: the input patterns of real models,
small enough to read. Each is a `convcli summary` target:

    convcli summary examples/models/inputs.py:Flow --input 1x3x128x128 --input 1x3x128x128
    convcli summary examples/models/inputs.py:MaskedSeg --input 1x3x64x64 --input mask=1x1x64x64
    convcli summary examples/models/inputs.py:TinyEncoder --input ids=1x128:int64
"""

import torch
import torch.nn as nn


class Flow(nn.Module):
    """Optical flow as RAFT starts it, forward(image1, image2): one encoder shared by
    both frames, their correlation (a bmm), and a conv that predicts the flow."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(3, 32, 3, stride=4, padding=1), nn.ReLU())
        self.head = nn.Conv2d(32 + 64, 2, 3, padding=1)

    def forward(self, image1, image2):
        f1, f2 = self.encoder(image1), self.encoder(image2)
        b, c, h, w = f1.shape
        corr = torch.bmm(f1.flatten(2).transpose(1, 2), f2.flatten(2)) / c
        corr = corr.reshape(b, h * w, h, w)[:, :64]
        return self.head(torch.cat([f1, corr], 1))


class MaskedSeg(nn.Module):
    """Segmentation with an optional keyword input, forward(x, mask=None)."""

    def __init__(self, classes=4):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU())
        self.gate = nn.Conv2d(1, 16, 1)
        self.classify = nn.Conv2d(16, classes, 1)

    def forward(self, x, mask=None):
        y = self.features(x)
        if mask is not None:
            y = y * torch.sigmoid(self.gate(mask))
        return self.classify(y)


class TinyEncoder(nn.Module):
    """A text encoder: int64 token ids -> nn.Embedding -> two attention blocks ->
    a Linear classifier, forward(ids)."""

    def __init__(self, vocab=1000, dim=64, heads=4):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=4 * dim,
                                           batch_first=True)
        self.blocks = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.classify = nn.Linear(dim, 2)

    def forward(self, ids):
        return self.classify(self.blocks(self.embed(ids)).mean(1))
