"""The feature service's one error type for unusable input."""


class InputError(ValueError):
    """The feature service's input or arguments are unusable; the message names the problem."""
