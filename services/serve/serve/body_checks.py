"""What pydantic's JSON parser lets through, or refuses without naming the field, found on the
request body before BentoML reads it: a key given twice in one object (pydantic keeps the last,
so `{"carrier": "UA", "carrier": "AA"}` was scored as AA), and a number with more digits before
its point than the parser reads (refused as invalid JSON, with an empty `loc`).

Python's json reads the body once more for it: about 1.4 ms for 1,000 flights here (a whole
/predict of them took 26 ms, 28 with the check). Only a body with a problem is read a third
time, to say where each is."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from serve.errors import Loc

# Digits before the point of a number pydantic's parser (jiter) reads; it refuses more as "out
# of range", as Python's int() does (sys.get_int_max_str_digits's default).
MAX_INTEGER_DIGITS = 4300
INTEGER_PART = re.compile(r"-?(\d*)")


class _Found(Exception):
    """The body has a problem; `body_errors` then finds where."""


def _too_long(text: str) -> bool:
    if len(text) <= MAX_INTEGER_DIGITS:
        return False
    match = INTEGER_PART.match(text)
    return match is not None and len(match[1]) > MAX_INTEGER_DIGITS


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) < len(pairs):
        raise _Found
    return found


def _number(text: str) -> float:
    if _too_long(text):
        raise _Found
    return 0.0  # the checks need no value


class _Object(list[tuple[str, Any]]):
    """An object's (key, value) pairs in order, a key given twice kept twice."""


class _TooLong(str):
    """A number with more than MAX_INTEGER_DIGITS digits before its point."""


def _marked(text: str) -> _TooLong | None:
    return _TooLong(text) if _too_long(text) else None


def _where(tree: Any) -> Iterator[tuple[Loc, str, str]]:
    """The problems of `tree` (read with _Object and _marked), in the body's order."""
    # (where, value, whether its key was given before in its object); a stack, not recursion:
    # the body may be nested deeper than Python recurses.
    stack: list[tuple[Loc, Any, bool]] = [((), tree, False)]
    while stack:
        loc, node, again = stack.pop()
        if again:
            yield loc, "duplicate_key", f"the key {loc[-1]!r} is given twice or more"
        children: list[tuple[Loc, Any, bool]] = []
        if isinstance(node, _Object):
            seen: set[str] = set()
            for key, value in node:
                children.append(((*loc, key), value, key in seen))
                seen.add(key)
        elif isinstance(node, list):
            children = [((*loc, position), item, False) for position, item in enumerate(node)]
        elif isinstance(node, _TooLong):
            yield (
                loc,
                "number_too_long",
                f"a number with more than {MAX_INTEGER_DIGITS} digits before its point",
            )
        stack.extend(reversed(children))


def body_errors(body: bytes) -> list[tuple[Loc, str, str]]:
    """Each duplicated key and over-long number of the JSON `body`, as (loc, type, message);
    none for a body that is no JSON at all (pydantic says why)."""
    try:
        json.loads(body, object_pairs_hook=_unique, parse_int=_number, parse_float=_number)
        return []
    except _Found:
        pass
    except (ValueError, RecursionError):  # malformed JSON, or not UTF-8
        return []
    try:
        tree = json.loads(body, object_pairs_hook=_Object, parse_int=_marked, parse_float=_marked)
    except (ValueError, RecursionError):  # malformed past its first problem
        return []
    return list(_where(tree))
