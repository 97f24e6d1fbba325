"""The CIFAR-10 CNN again, the way it is usually improved: two convs per block,
BatchNorm after every conv, Dropout after every block, written as nn.Sequential.
Its layer-list twin for `convcli net` is cifar_cnn_bn.txt (the Sequential bodies).

    convcli summary examples/models/cifar_cnn_bn.py:CifarCNNBN --input 8x3x32x32
"""

import torch.nn as nn


def block(c_in, c_out, p):
    return [
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.MaxPool2d(2), nn.Dropout(p),
    ]


class CifarCNNBN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(*block(3, 32, 0.2), *block(32, 64, 0.3),
                                      *block(64, 128, 0.4))
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * 4 * 4, 256),
            nn.BatchNorm1d(256),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(256, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
