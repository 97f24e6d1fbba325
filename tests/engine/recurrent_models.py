"""Recurrent test models for summary (MACs in closed form) and --train (oneDNN's
workspace): LSTM/GRU/RNN classifiers with 1-3 layers, bidirectional, a projection,
and one that packs its padded batch. build_* are FILE.py:NAME targets; RECURRENT:
name -> (build, input shape without the batch)."""

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class Classifier(nn.Module):
    """Linear embedding -> recurrent layers -> the last step -> Linear."""

    def __init__(self, cell=nn.LSTM, layers=2, bidirectional=False, features=40, hidden=96,
                 **kw):
        super().__init__()
        self.emb = nn.Linear(features, 64)
        self.rnn = cell(64, hidden, num_layers=layers, batch_first=True,
                        bidirectional=bidirectional, **kw)
        out = kw.get("proj_size") or hidden
        self.fc = nn.Linear(out * (2 if bidirectional else 1), 10)

    def forward(self, x):
        return self.fc(self.rnn(self.emb(x))[0][:, -1])


class Packed(nn.Module):
    """Sequences of different lengths (the batch's i-th is T - i steps long, at least
    1), packed before a bidirectional LSTM and padded again after it."""

    def __init__(self, cell=nn.LSTM):
        super().__init__()
        self.rnn = cell(40, 64, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        n, t = x.shape[:2]
        lengths = torch.clamp(t - torch.arange(n), min=1)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True)
        return self.fc(out.mean(1))


RECURRENT = {
    "lstm1": (lambda: Classifier(nn.LSTM, 1), (50, 40)),
    "lstm2": (lambda: Classifier(nn.LSTM, 2), (50, 40)),
    "lstm3_bi": (lambda: Classifier(nn.LSTM, 3, True), (50, 40)),
    "lstm_proj": (lambda: Classifier(nn.LSTM, 2, True, proj_size=32), (50, 40)),
    "gru1": (lambda: Classifier(nn.GRU, 1), (50, 40)),
    "gru2_bi": (lambda: Classifier(nn.GRU, 2, True), (50, 40)),
    "rnn2": (lambda: Classifier(nn.RNN, 2, nonlinearity="relu"), (50, 40)),
    "lstm_packed": (lambda: Packed(nn.LSTM), (20, 40)),
    "gru_packed": (lambda: Packed(nn.GRU), (20, 40)),
}

for _k, (_build, _shape) in RECURRENT.items():
    globals()["build_" + _k] = _build
