"""The service's errors, in a module that imports nothing: the CLI catches them before it knows
which command runs, and `--help`, a refused argument or `rollback` need neither torch nor
scikit-learn, which the modules that raise them import (about three seconds)."""

from __future__ import annotations


class TrainError(ValueError):
    """Input, parameters or settings the service cannot train on. The message names what is
    wrong, and the CLI prints it alone (status 2, no traceback)."""


class WorkersFailed(RuntimeError):
    """A training process torchrun started failed; the message is torchrun's account of which
    and why (each process has reported its own error already)."""
