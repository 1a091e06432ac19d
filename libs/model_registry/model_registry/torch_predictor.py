"""The PyTorch kind of predictor: the wide-and-deep network with its encoding.

Apart from predictor.py so that loading a scikit-learn model never imports torch; load_predictor
imports this module when a directory holds a torch model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from feature_definitions.features import Feature
from model_registry.encoding import TabularEncoding
from model_registry.network import NetworkConfig, WideDeepNet
from model_registry.predictor import KIND_FILES, Predictor, PredictorKind

# Rows scored per forward pass: bounds the network's memory on a large frame.
CHUNK_ROWS = 65_536


def scoring_device() -> torch.device:
    """Where a loaded network scores unless told otherwise: the GPU torch sees first (as
    training fits on one when present), else the CPU."""
    return torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")


class TorchPredictor(Predictor):
    """The wide-and-deep network with its encoding, scoring on the device its weights are on."""

    kind: PredictorKind = "torch"
    ENCODING, NETWORK, WEIGHTS = KIND_FILES[kind]

    def __init__(
        self,
        encoding: TabularEncoding,
        network: WideDeepNet,
        features: Sequence[Feature],
        threshold: float,
    ) -> None:
        super().__init__(features, threshold)
        self.encoding = encoding
        self.network = network.eval()

    def _probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        codes, numbers = self.encoding.transform(frame)
        device = next(self.network.parameters()).device
        scores = []
        with torch.inference_mode():
            for start in range(0, len(frame), CHUNK_ROWS):
                end = start + CHUNK_ROWS
                logits = self.network(
                    torch.from_numpy(codes[start:end]).to(device),
                    torch.from_numpy(numbers[start:end]).to(device),
                )
                scores.append(torch.sigmoid(logits).double().cpu().numpy())
        return np.concatenate(scores) if scores else np.zeros(0, dtype="float64")

    def _write(self, directory: Path) -> list[str]:
        (directory / self.ENCODING).write_text(json.dumps(self.encoding.to_dict()) + "\n")
        config = self.network.config.to_dict()
        (directory / self.NETWORK).write_text(json.dumps(config, indent=2) + "\n")
        state = {k: v.detach().cpu() for k, v in self.network.state_dict().items()}
        torch.save(state, directory / self.WEIGHTS)
        return [self.ENCODING, self.NETWORK, self.WEIGHTS]

    @classmethod
    def _read(
        cls,
        directory: Path,
        features: Sequence[Feature],
        threshold: float,
        device: torch.device | None = None,
    ) -> Predictor:
        encoding = TabularEncoding.from_dict(json.loads((directory / cls.ENCODING).read_text()))
        network = WideDeepNet(
            NetworkConfig.from_dict(json.loads((directory / cls.NETWORK).read_text()))
        )
        state = torch.load(directory / cls.WEIGHTS, map_location="cpu", weights_only=True)
        network.load_state_dict(state)
        return cls(encoding, network.to(device or scoring_device()), features, threshold)
