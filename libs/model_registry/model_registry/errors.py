"""The library's errors, in a module that imports nothing: a command line can catch them without
loading BentoML, pandas and joblib, which the modules that raise them need."""

from __future__ import annotations


class PredictorError(ValueError):
    """A feature frame the predictor cannot score, or a directory that is not a predictor."""


class RegistryError(ValueError):
    """The registry cannot do what was asked; the message says why."""
