"""CNN -> LSTM -> Bahdanau attention: local patterns, longer memory, a learned read-out.

A causal convolution extracts local patterns from each step's neighbourhood (past side
only), stacked LSTMs carry longer dependencies, and additive (Bahdanau) attention weighs
every step's hidden state against the last one. The penultimate layer (attention context
joined with the last hidden state, projected) is the representation the hybrid model's
second stage reads.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["BahdanauAttention", "CNNLSTMAttentionNet"]


class BahdanauAttention(nn.Module):
    """score_t = v . tanh(W_h h_t + W_q q); context = sum_t softmax(score)_t h_t."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.keys = nn.Linear(hidden_size, hidden_size, bias=False)
        self.query = nn.Linear(hidden_size, hidden_size)
        self.score = nn.Linear(hidden_size, 1, bias=False)

    def forward(self, sequence: torch.Tensor, query: torch.Tensor):
        energy = torch.tanh(self.keys(sequence) + self.query(query)[:, None, :])
        weights = torch.softmax(self.score(energy).squeeze(-1), dim=1)  # (B, W)
        context = torch.bmm(weights[:, None, :], sequence).squeeze(1)
        return context, weights


class CNNLSTMAttentionNet(nn.Module):
    """(B, W, F) -> (outputs (B, C), representation (B, hidden_size))."""

    def __init__(self, n_features: int, n_outputs: int, *, filters: int, kernel_size: int,
                 hidden_size: int, layers: int, dropout: float):  # fmt: skip
        super().__init__()
        self.pad = kernel_size - 1
        self.conv = nn.Conv1d(n_features, filters, kernel_size)
        self.lstm = nn.LSTM(
            filters,
            hidden_size,
            num_layers=layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.attention = BahdanauAttention(hidden_size)
        self.project = nn.Linear(2 * hidden_size, hidden_size)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, n_outputs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        local = F.relu(self.conv(F.pad(x.transpose(1, 2), (self.pad, 0)))).transpose(1, 2)
        sequence, _ = self.lstm(local)
        last = sequence[:, -1]
        context, _ = self.attention(sequence, last)
        representation = torch.tanh(self.project(torch.cat([context, last], dim=1)))
        return self.head(self.drop(representation)), representation
