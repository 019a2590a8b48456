"""Task heads: features -> logits, applied to the last dimension ([B, F] or [B, L, F])."""

from __future__ import annotations

from torch import Tensor, nn


class Head(nn.Module):
    """Dropout -> optional Dense(hidden, relu) -> Dense(num_outputs).

    With ``num_outputs == 1`` (binary tasks) the trailing dim is squeezed, giving one logit
    per example for BCEWithLogitsLoss. One logit rather than two is also what makes the
    parameter counts equal Keras' Dense(1, sigmoid) in seed A.
    """

    def __init__(self, in_features: int, hidden: int, num_outputs: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        if hidden > 0:
            self.hidden = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU())
            in_features = hidden
        else:
            self.hidden = nn.Identity()
        self.out = nn.Linear(in_features, num_outputs)
        self.squeeze = num_outputs == 1

    def forward(self, features: Tensor) -> Tensor:
        logits = self.out(self.hidden(self.dropout(features)))
        return logits.squeeze(-1) if self.squeeze else logits
