"""A torchvision-style detector: ``model([img1, img2])`` takes a list of images of
different sizes (C, H, W), batches them padded to the largest, runs a small conv
backbone and heads, and returns one dict per image with boxes, scores and labels kept
by a score threshold (data-dependent: how many boxes survive depends on the values).
build_* are FILE.py:NAME targets."""

import torch
import torch.nn as nn


class TinyDetector(nn.Module):
    def __init__(self, classes=3, threshold=0.5):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(),
                                      nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU())
        self.cls = nn.Conv2d(32, classes, 1)
        self.box = nn.Conv2d(32, 4, 1)
        self.threshold = threshold

    def forward(self, images):
        h = max(img.shape[-2] for img in images)
        w = max(img.shape[-1] for img in images)
        batch = images[0].new_zeros(len(images), images[0].shape[0], h, w)
        for i, img in enumerate(images):
            batch[i, :, :img.shape[-2], :img.shape[-1]].copy_(img)
        feats = self.backbone(batch)
        scores = self.cls(feats).sigmoid().flatten(2)            # N, classes, positions
        boxes = self.box(feats).flatten(2).transpose(1, 2)       # N, positions, 4
        out = []
        for i in range(len(images)):
            best, labels = scores[i].max(0)
            keep = best > self.threshold                          # data-dependent
            out.append({"boxes": boxes[i][keep], "scores": best[keep], "labels": labels[keep]})
        return out


class PairsAndDict(nn.Module):
    """forward((a, b), extra={'scale': s}): a tuple and a dict of tensors."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, pair, extra):
        a, b = pair
        return self.conv(a).mean() + self.conv(b).mean() * extra["scale"].sum()


def build_detector():
    return TinyDetector()


def build_pairs():
    return PairsAndDict()
