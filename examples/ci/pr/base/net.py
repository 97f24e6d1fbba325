"""The model on the base branch of examples/ci's pull request (docs/ci.md)."""
import torch.nn as nn

from blocks import Block


class Net(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)
        self.body = Block(32)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Linear(32 * 16 * 16, classes)

    def forward(self, x):
        x = self.body(self.stem(x))
        return self.head(self.drop(x.flatten(1)))
