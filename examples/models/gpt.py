"""A GPT-style decoder: token and position embeddings, pre-norm blocks (causal
self-attention through scaled_dot_product_attention, a 4x MLP with GELU), a final
LayerNorm and an output projection. The default is small; the 6.7B configuration of
GPT-3 (32 blocks of width 4096, 32 heads) is ``gpt_6_7b``: built on the meta device by
`convcli summary` in seconds, with no memory.

    convcli summary examples/models/gpt.py:GPT --input 1x128:int64 --train
    convcli summary examples/models/gpt.py:gpt_6_7b --input 1x2048:int64 --budget 80GiB \\
        --strategy fsdp
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.out = nn.Linear(4 * width, width)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2)
                   for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, vocab=1000, context=256, width=128, heads=4, blocks=2):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(blocks))
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)

    def forward(self, ids):
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


def gpt_6_7b():
    return GPT(vocab=50257, context=2048, width=4096, heads=32, blocks=32)
