"""The OpenAPI document the service serves is valid OpenAPI 3.0 (openapi-spec-validator, which
moto brings) and declares every error the APIs answer; each JSON Schema 2020-12 construct
pydantic writes has its 3.0 form."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator  # pants: no-infer-dep (moto's)

from model_registry.store import Model
from serve.openapi import openapi_30, schema_30


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {"anyOf": [{"type": "string", "pattern": "^A$"}, {"type": "null"}], "title": "T"},
            {"type": "string", "pattern": "^A$", "title": "T", "nullable": True},
        ),
        (
            {"anyOf": [{"$ref": "#/components/schemas/X"}, {"type": "null"}]},
            {"allOf": [{"$ref": "#/components/schemas/X"}], "nullable": True},
        ),
        (
            {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
            {"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": True},
        ),
        (
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 2.5},
            {
                "type": "number",
                "minimum": 0,
                "exclusiveMinimum": True,
                "maximum": 2.5,
                "exclusiveMaximum": True,
            },
        ),
        ({"const": "UA"}, {"enum": ["UA"]}),
        # Nested, and a field named after a keyword is still a field.
        (
            {"type": "object", "properties": {"const": {"type": "integer", "exclusiveMinimum": 1}}},
            {
                "type": "object",
                "properties": {
                    "const": {"type": "integer", "minimum": 1, "exclusiveMinimum": True}
                },
            },
        ),
        # Already OpenAPI 3.0: unchanged.
        (
            {"type": "integer", "minimum": 1, "exclusiveMinimum": True},
            {"type": "integer", "minimum": 1, "exclusiveMinimum": True},
        ),
    ],
)
def test_json_schema_2020_12_becomes_openapi_30(
    schema: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert schema_30(schema) == expected


def served_document() -> dict[str, Any]:
    """The document BentoML generates for the service, as JSON (its status codes are strings)."""
    from serve.service import SERVICE

    document: dict[str, Any] = json.loads(json.dumps(SERVICE.openapi_spec.asdict()))
    return document


def test_the_served_document_is_valid_openapi_30(model: Model) -> None:
    # `model` is the promoted model the service names when it is imported.
    document = served_document()
    assert document["openapi"].startswith("3.0.")
    served = openapi_30(document)
    errors = [
        f"{list(error.absolute_path)}: {error.message}"
        for error in OpenAPIV30SpecValidator(served).iter_errors()
    ]
    # Before, three: tailnum's null alternative, distance's numeric exclusiveMinimum, and the
    # null alternative of BentoML's TaskStatusResponse.
    assert errors == []
    flight = served["components"]["schemas"]["Flight"]["properties"]
    assert flight["tailnum"]["nullable"] is True
    assert (flight["distance"]["minimum"], flight["distance"]["exclusiveMinimum"]) == (0, True)


def test_each_api_declares_every_error_it_answers(model: Model) -> None:
    served = openapi_30(served_document())
    for route in ("/predict", "/features"):
        responses = served["paths"][route]["post"]["responses"]
        # Before, BentoML's 400, 404 and 500 only.
        assert {"400", "413", "415", "429", "503", "504"} <= set(responses), route
        assert responses["400"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/RequestError"
        }
    # The infrastructure's routes take no body, and answer none of these.
    assert "413" not in served["paths"]["/readyz"]["get"]["responses"]
