"""The PyTorch network: wide and deep over the encoded features.

The deep part embeds each categorical feature, concatenates the embeddings with the numeric
features and runs an MLP. The wide part adds a linear term: one learned weight per category and
per numeric feature. On this data the delay signal is largely additive (a linear model is
within 0.01 ROC-AUC of gradient boosting), and the wide part carries it while the MLP learns
interactions. Row OUT_OF_VOCABULARY (0) of every embedding is a fixed zero vector.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from model_registry.encoding import OUT_OF_VOCABULARY


def embedding_dim(cardinality: int, cap: int) -> int:
    """Half the vocabulary, at least 1, at most `cap`."""
    return max(1, min(cap, cardinality // 2))


@dataclass(frozen=True)
class NetworkConfig:
    cardinalities: tuple[int, ...]
    embedding_dims: tuple[int, ...]
    numeric: int
    hidden: tuple[int, ...]
    dropout: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkConfig:
        return cls(
            cardinalities=tuple(data["cardinalities"]),
            embedding_dims=tuple(data["embedding_dims"]),
            numeric=int(data["numeric"]),
            hidden=tuple(data["hidden"]),
            dropout=float(data["dropout"]),
        )


class WideDeepNet(nn.Module):
    """Logits of `delayed` from (codes: int64 rows x categorical, numbers: float32 rows x
    numeric)."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = nn.ModuleList(
            nn.Embedding(rows, dim, padding_idx=OUT_OF_VOCABULARY)
            for rows, dim in zip(config.cardinalities, config.embedding_dims, strict=True)
        )
        layers: list[nn.Module] = []
        width = sum(config.embedding_dims) + config.numeric
        for units in config.hidden:
            layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(config.dropout)]
            width = units
        layers.append(nn.Linear(width, 1))
        self.deep = nn.Sequential(*layers)
        self.wide_categorical = nn.ModuleList(
            nn.Embedding(rows, 1, padding_idx=OUT_OF_VOCABULARY) for rows in config.cardinalities
        )
        self.wide_numeric = nn.Linear(config.numeric, 1)

    def forward(self, codes: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        embedded = [table(codes[:, i]) for i, table in enumerate(self.embeddings)]
        deep = self.deep(torch.cat([*embedded, numbers], dim=1))
        wide = self.wide_numeric(numbers)
        for i, table in enumerate(self.wide_categorical):
            wide = wide + table(codes[:, i])
        logits: torch.Tensor = (deep + wide).squeeze(1)
        return logits
