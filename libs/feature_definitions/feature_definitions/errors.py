"""The feature definitions' one error type for unusable input."""


class FeatureInputError(ValueError):
    """Flights or lookups cannot be turned into features; the message names the problem."""
