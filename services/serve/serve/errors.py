"""The one shape of the 4xx answers the service gives: a JSON object whose `error` says what is
wrong. A 400 about the request's content is pydantic's validation error as BentoML answers it,
`{"error": "<n> validation error for <model>", "detail": [...]}`, each of `detail`'s errors naming
its field in `loc` (`["flights", 0, "dest"]`), its `type` and its `msg`. A refusal found after
validation (an unknown destination) is raised as such an error, and one found before BentoML
reads the body (a duplicated key) is answered in its shape (`error_body`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# pydantic comes with bentoml (see BUILD).
from pydantic import ValidationError  # pants: no-infer-dep
from pydantic_core import InitErrorDetails, PydanticCustomError  # pants: no-infer-dep

# Where an error is: keys and list positions from the body's top, pydantic's `loc`.
Loc = tuple[str | int, ...]
# What pydantic's message names as the model validated.
TITLE = "PredictRequest"


def request_error(errors: Iterable[tuple[Loc, str, str]]) -> ValidationError:
    """A validation error of the request for `errors`, each (loc, type, message)."""
    return ValidationError.from_exception_data(
        TITLE,
        [
            InitErrorDetails(
                # The message as context: a template would read braces in it as placeholders.
                type=PydanticCustomError(kind, "{message}", {"message": message}),
                loc=loc,
                input=None,
            )
            for loc, kind, message in errors
        ],
    )


def error_body(error: ValidationError) -> dict[str, Any]:
    """The body of BentoML's 400 for `error` (the same keys, the same words)."""
    return {
        "error": f"{error.error_count()} validation error for {error.title}",
        "detail": error.errors(include_context=False, include_input=False),
    }
