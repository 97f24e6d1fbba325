"""MobileNet-style depthwise-separable blocks: a 3x3 depthwise conv (groups =
channels) then a 1x1 pointwise conv, each with BatchNorm and ReLU6; stride 2 in the
depthwise conv halves the size. Global average pooling and a Linear head.
Its layer-list twin for `convcli net` is depthwise_separable.txt.

    convcli summary examples/models/depthwise_separable.py:DepthwiseSeparableNet --input 1x3x64x64
"""

import torch.nn as nn


def dw_separable(c_in, c_out, stride):
    return nn.Sequential(
        nn.Conv2d(c_in, c_in, 3, stride=stride, padding=1, groups=c_in, bias=False),
        nn.BatchNorm2d(c_in),
        nn.ReLU6(inplace=True),
        nn.Conv2d(c_in, c_out, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU6(inplace=True),
    )


class DepthwiseSeparableNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(32), nn.ReLU6(inplace=True))
        self.blocks = nn.Sequential(
            dw_separable(32, 64, 1),
            dw_separable(64, 128, 2),
            dw_separable(128, 128, 1),
            dw_separable(128, 256, 2),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(256, num_classes))

    def forward(self, x):
        return self.head(self.pool(self.blocks(self.stem(x))))
