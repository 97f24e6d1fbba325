"""The CIFAR-10 CNN from the tutorials: three conv + ReLU + max-pool blocks, then the
hand-written flatten size 64 * 4 * 4 (32 -> 16 -> 8 -> 4) and two Linear layers.

Written the way tutorials write it: one shared MaxPool2d, F.relu and x.view in
forward(). Its layer-list twin for `convcli net` is cifar_cnn.txt.

    convcli summary examples/models/cifar_cnn.py:CifarCNN --input 1x3x32x32
    convcli net 1x3x32x32 --file examples/models/cifar_cnn.txt
"""

import torch.nn as nn
import torch.nn.functional as F


class CifarCNN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(64 * 4 * 4, 500)
        self.fc2 = nn.Linear(500, num_classes)
        self.dropout = nn.Dropout(0.25)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.pool(F.relu(self.conv3(x)))
        x = x.view(-1, 64 * 4 * 4)
        x = self.dropout(x)
        x = F.relu(self.fc1(x))
        x = self.dropout(x)
        return self.fc2(x)
