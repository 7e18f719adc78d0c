"""LSTM and GRU networks: a stacked recurrent layer read at the window's last step."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["RecurrentNet"]


class RecurrentNet(nn.Module):
    """(B, W, F) -> (outputs (B, C), representation (B, hidden_size))."""

    def __init__(self, cell: str, n_features: int, n_outputs: int, *, hidden_size: int,
                 layers: int, dropout: float):  # fmt: skip
        super().__init__()
        recurrent = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = recurrent(
            n_features,
            hidden_size,
            num_layers=layers,
            batch_first=True,
            # PyTorch applies dropout between stacked layers only
            dropout=dropout if layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, n_outputs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sequence, _ = self.rnn(x)
        representation = sequence[:, -1]
        return self.head(self.drop(representation)), representation
