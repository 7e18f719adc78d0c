"""Transformer encoder over the window: sinusoidal positions and a causal attention mask."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["TransformerNet"]


def sinusoidal_positions(length: int, width: int) -> torch.Tensor:
    """(length, width) fixed positional encoding of "Attention is all you need"."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(length, width)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: width // 2])
    return table


class TransformerNet(nn.Module):
    """(B, W, F) -> (outputs (B, C), representation (B, hidden_size)) read at the last step."""

    def __init__(self, n_features: int, n_outputs: int, *, window: int, hidden_size: int,
                 heads: int, layers: int, dropout: float):  # fmt: skip
        super().__init__()
        if hidden_size % heads:
            raise ValueError(f"hidden_size={hidden_size} must be a multiple of heads={heads}")
        self.embed = nn.Linear(n_features, hidden_size)
        self.register_buffer("positions", sinusoidal_positions(window, hidden_size))
        # step t may attend to steps <= t only (float mask: -inf above the diagonal)
        mask = torch.triu(torch.full((window, window), float("-inf")), diagonal=1)
        self.register_buffer("causal_mask", mask)
        layer = nn.TransformerEncoderLayer(
            hidden_size,
            heads,
            dim_feedforward=2 * hidden_size,
            dropout=dropout,
            batch_first=True,
        )
        # nested-tensor fast path is off: it changes numerics between train and export
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(hidden_size, n_outputs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.embed(x) + self.positions[: x.shape[1]]
        encoded = self.encoder(hidden, mask=self.causal_mask, is_causal=True)
        representation = encoded[:, -1]
        return self.head(representation), representation
