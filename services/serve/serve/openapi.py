"""The served OpenAPI document (/docs.json) as the OpenAPI 3.0 it says it is, declaring every
error the API answers.

BentoML labels the document `openapi: 3.0.2` but fills it with pydantic's JSON Schema 2020-12,
which OpenAPI 3.0 validators and client generators refuse, in our models and in BentoML's own
(`TaskStatusResponse`), and declares only its own 400, 404 and 500 for each API. It offers no
public way to change how it generates the document, so the middleware in serve/middleware.py
rewrites it on its way out (`openapi_30`)."""

from __future__ import annotations

from typing import Any

from serve.limits import (
    MAX_BODY_BYTES,
    MAX_CONCURRENCY,
    READY_WAIT_SECONDS,
    REQUEST_TIMEOUT_SECONDS,
)

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


STRING = {"type": "string"}
# The bodies of the API's errors (serve/errors.py, serve/middleware.py, BentoML's 429 and 504).
ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "description": "Any 4xx or 5xx the service answers",
        "required": ["error"],
        "properties": {"error": STRING},
    },
    "FieldError": {
        "type": "object",
        "description": "What is wrong where: `loc` holds keys and list positions from the body's "
        "top (empty for the body as a whole)",
        "required": ["type", "loc", "msg"],
        "properties": {
            "type": STRING,
            "loc": {"type": "array", "items": {"oneOf": [STRING, {"type": "integer"}]}},
            "msg": STRING,
            "url": STRING,
        },
    },
    "RequestError": {
        "type": "object",
        "description": "A 400: `detail` lists the errors of the body's content",
        "required": ["error"],
        "properties": {
            "error": STRING,
            "detail": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
        },
    },
    "NotReady": {
        "type": "object",
        "description": "A 503: the worker is loading (`waiting_for`) or failed to (`error`)",
        "required": ["error", "status"],
        "properties": {
            "error": STRING,
            "status": {"type": "string", "enum": ["loading", "failed"]},
            "waiting_for": STRING,
        },
    },
}
# What each API may answer besides 200 (BentoML's 404 and 500 stay as it declares them).
API_ERRORS: dict[str, tuple[str, str]] = {
    "400": (
        "Bad input: malformed JSON, a duplicated key, a field missing, extra, mistyped or out "
        "of range, an unknown destination, a departure past its origin's data horizon in the "
        "online store or from an origin it holds no weather of (`past_data_horizon`) or one "
        "whose trailing window starts before the store's data start (`before_data_start`), no "
        "flights or too many; `detail` names each field",
        "RequestError",
    ),
    "413": (f"The request body is larger than {MAX_BODY_BYTES} bytes", "Error"),
    "415": ("The body is declared as something other than application/json", "Error"),
    "429": (f"More than {MAX_CONCURRENCY} requests in flight: try again later", "Error"),
    "503": (
        f"The worker has not loaded the model and its data within {READY_WAIT_SECONDS} s, or "
        "failed to load them",
        "NotReady",
    ),
    "504": (f"Not answered within {REQUEST_TIMEOUT_SECONDS} s", "Error"),
}


def _declare_errors(document: dict[str, Any]) -> None:
    document.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    for path in document.get("paths", {}).values():
        for operation in path.values():
            # The service's APIs are the operations that take a body.
            if isinstance(operation, dict) and "requestBody" in operation:
                operation["responses"].update(
                    {
                        status: {
                            "description": description,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": f"#/components/schemas/{schema}"}
                                }
                            },
                        }
                        for status, (description, schema) in API_ERRORS.items()
                    }
                )


def openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document BentoML generated, its schemas in OpenAPI 3.0's dialect, each API
    declaring the errors it answers."""
    converted: dict[str, Any] = _any_30(document)
    _declare_errors(converted)
    return converted
