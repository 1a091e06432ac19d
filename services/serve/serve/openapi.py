"""The served OpenAPI document (/docs.json) as the OpenAPI 3.0 it says it is.

BentoML labels the document `openapi: 3.0.2` but fills it with pydantic's JSON Schema 2020-12,
which OpenAPI 3.0 validators and client generators refuse, in our models and in BentoML's own
(`TaskStatusResponse`); BentoML offers no public way to change how it generates the document,
so the middleware in serve/middleware.py rewrites it on its way out (`openapi_30`)."""

from __future__ import annotations

from typing import Any

# A schema that allows null, in JSON Schema and in OpenAPI 3.0.
NULL = {"type": "null"}
# JSON Schema's numeric exclusive bounds, and the inclusive keyword whose flag each is in 3.0.
EXCLUSIVE_BOUNDS = {"exclusiveMinimum": "minimum", "exclusiveMaximum": "maximum"}
# Keys whose value maps names to schemas: the mapping itself is no schema (a field could be
# called `const`).
SCHEMA_MAPS = ("properties", "patternProperties", "schemas")


def schema_30(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` (JSON Schema 2020-12 as pydantic writes it) in OpenAPI 3.0's dialect: a null
    alternative (`anyOf: [X, {"type": "null"}]`) as `nullable`, a numeric exclusive bound as the
    inclusive keyword with the boolean flag, `const` as a one-value `enum`; nested schemas too."""
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key in SCHEMA_MAPS and isinstance(value, dict):
            converted[key] = {name: _any_30(inner) for name, inner in value.items()}
        else:
            converted[key] = _any_30(value)
    alternatives = converted.get("anyOf")
    if isinstance(alternatives, list) and NULL in alternatives:
        others = [alternative for alternative in alternatives if alternative != NULL]
        del converted["anyOf"]
        if len(others) == 1 and "$ref" in others[0]:
            converted["allOf"] = others  # a $ref's sibling keywords are ignored in 3.0
        elif len(others) == 1:
            converted = {**others[0], **converted}
        else:
            converted["anyOf"] = others
        converted["nullable"] = True
    for exclusive, inclusive in EXCLUSIVE_BOUNDS.items():
        bound = converted.get(exclusive)
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            converted[inclusive], converted[exclusive] = bound, True
    if "const" in converted:
        converted["enum"] = [converted.pop("const")]
    return converted


def _any_30(value: Any) -> Any:
    if isinstance(value, dict):
        return schema_30(value)
    if isinstance(value, list):
        return [_any_30(item) for item in value]
    return value


def openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document BentoML generated, its schemas in OpenAPI 3.0's dialect."""
    return _any_30(document)  # type: ignore[no-any-return]
