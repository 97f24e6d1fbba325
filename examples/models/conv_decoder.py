"""A small transposed-conv decoder (the generator half of a DCGAN / the decoder of a
convolutional autoencoder): a latent vector 1x100 -> Linear -> 256x4x4, then
ConvTranspose2d(k=4, s=2, p=1) doubles the size three times up to 3x32x32.
Its layer-list twin for `convcli net` is conv_decoder.txt.

Transposed convs are where most counting tools overcount MACs by about stride^2;
convcli counts them per input element (see counts.py).

    convcli summary examples/models/conv_decoder.py:ConvDecoder --input 1x100
"""

import torch.nn as nn


class ConvDecoder(nn.Module):
    def __init__(self, latent=100, channels=3):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(latent, 256 * 4 * 4), nn.ReLU(inplace=True),
                                     nn.Unflatten(1, (256, 4, 4)))
        self.decode = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 4, stride=2, padding=1, bias=False),  # 4 -> 8
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1, bias=False),   # 8 -> 16
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(64, channels, 4, stride=2, padding=1),          # 16 -> 32
            nn.Tanh(),
        )

    def forward(self, z):
        return self.decode(self.project(z))
