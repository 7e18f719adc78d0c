"""Temporal convolutional network: residual blocks of dilated causal 1-D convolutions."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["TCNNet"]


class _CausalBlock(nn.Module):
    def __init__(self, channels_in: int, channels: int, kernel_size: int, dilation: int,
                 dropout: float):  # fmt: skip
        super().__init__()
        # left padding only: the output at step t reads inputs <= t
        self.pad = (kernel_size - 1) * dilation
        self.conv1 = nn.Conv1d(channels_in, channels, kernel_size, dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size, dilation=dilation)
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Conv1d(channels_in, channels, 1) if channels_in != channels else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.drop(F.relu(self.conv1(F.pad(x, (self.pad, 0)))))
        out = self.drop(F.relu(self.conv2(F.pad(out, (self.pad, 0)))))
        residual = x if self.skip is None else self.skip(x)
        return F.relu(out + residual)


class TCNNet(nn.Module):
    """(B, W, F) -> (outputs (B, C), representation (B, filters)); dilations 1, 2, 4, ..."""

    def __init__(self, n_features: int, n_outputs: int, *, filters: int, kernel_size: int,
                 layers: int, dropout: float):  # fmt: skip
        super().__init__()
        blocks = []
        for level in range(layers):
            blocks.append(
                _CausalBlock(
                    n_features if level == 0 else filters, filters, kernel_size, 2**level, dropout
                )
            )
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(filters, n_outputs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.blocks(x.transpose(1, 2))  # (B, filters, W)
        representation = features[:, :, -1]
        return self.head(representation), representation
