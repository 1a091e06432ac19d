"""A key given twice and a number longer than pydantic's parser reads are named where they are;
any other body, valid or not JSON at all, is left to pydantic."""

from __future__ import annotations

import pytest
from pydantic import ValidationError  # pants: no-infer-dep (bentoml's, via schema.py)

from serve.body_checks import MAX_INTEGER_DIGITS, body_errors
from serve.limits import LARGEST_FLIGHT
from serve.schema import PredictRequest
from serve.testing import written

LONG = "1" * (MAX_INTEGER_DIGITS + 1)


def _with(text: str) -> bytes:
    """A valid request whose flight's `flight` is written as `text`."""
    return written(LARGEST_FLIGHT, "flight", text)


def test_a_duplicated_key_is_named_where_it_is() -> None:
    body = _with('1, "carrier": "AA"')
    # What it guards against: pydantic reads the last, and the request is valid.
    assert PredictRequest.model_validate_json(body).flights[0].carrier == "AA"
    assert body_errors(body) == [
        (("flights", 0, "carrier"), "duplicate_key", "the key 'carrier' is given twice or more")
    ]


def test_every_duplicated_key_is_named_in_the_bodys_order() -> None:
    body = b'{"flights": [{"a": 1, "a": {"b": 1, "b": 2}}], "flights": [], "x": 1, "x": 2}'
    assert [loc for loc, _, _ in body_errors(body)] == [
        ("flights", 0, "a"),
        ("flights", 0, "a", "b"),
        ("flights",),
        ("x",),
    ]


@pytest.mark.parametrize("number", [LONG, f"-{LONG}", f"{LONG}.5", f"{LONG}e-9000"])
def test_a_number_too_long_for_pydantic_is_named(number: str) -> None:
    body = _with(number)
    # What it guards against: pydantic refuses it as invalid JSON, naming no field.
    with pytest.raises(ValidationError) as refused:
        PredictRequest.model_validate_json(body)
    assert [(e["type"], e["loc"]) for e in refused.value.errors()] == [("json_invalid", ())]
    assert body_errors(body) == [
        (
            ("flights", 0, "flight"),
            "number_too_long",
            f"a number with more than {MAX_INTEGER_DIGITS} digits before its point",
        )
    ]


@pytest.mark.parametrize(
    "body",
    [
        _with("1"),
        _with("1" * MAX_INTEGER_DIGITS),
        _with(f"1.{LONG}"),
        _with("1e400"),
        # Not JSON, or no UTF-8, or nested past Python's recursion: pydantic's to refuse.
        b'{"flights": [',
        b'{"a": 1, "a": 2',
        b"\xff",
        b"[" * 100_000,
    ],
)
def test_anything_else_is_left_to_pydantic(body: bytes) -> None:
    assert body_errors(body) == []
