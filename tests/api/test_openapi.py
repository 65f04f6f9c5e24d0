"""The OpenAPI document matches what the API does: every API route with its methods, every example
valid against its schema, every reference resolvable. (The endpoint tests also validate the real
responses against these schemas.)

jsonschema (a test dependency only) does the validation: OpenAPI 3.1 schemas are JSON Schema 2020-12,
and hand-checking examples against hand-written schemas would test nothing.
"""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator

from grants.api.openapi import openapi_document

API_PREFIX = "/api/"


def api_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(API_PREFIX)]


def openapi_path(rule) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)


def test_every_api_route_is_documented_with_the_methods_it_accepts(app):
    document = openapi_document()
    documented = {path: {m.upper() for m in operations} for path, operations in document["paths"].items()}
    served = {}
    for rule in api_rules(app):
        served.setdefault(openapi_path(rule), set()).update(rule.methods - {"HEAD", "OPTIONS"})
    assert served, "no API route?"
    assert served == documented


def test_every_path_parameter_is_declared(app):
    document = openapi_document()
    for path, operations in document["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, f"{method.upper()} {path}"


def test_every_token_route_documents_401_and_403_and_the_public_one_needs_no_token(app):
    document = openapi_document()
    for rule in api_rules(app):
        view = app.view_functions[rule.endpoint]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][openapi_path(rule)][method.lower()]
            if view.access_rule.value == "public":
                assert operation["security"] == []
            else:
                assert {"401", "403"} <= set(operation["responses"]), f"{method} {rule.rule}"
                assert "security" not in operation  # the document's default: the bearer token


def schema_validator(document: dict, schema: dict) -> Draft202012Validator:
    """A validator for ``schema`` whose #/components/... references resolve in ``document``."""
    return Draft202012Validator({**schema, "components": document["components"]})


def examples(document: dict):
    """(where, schema, example) for every example of the document, responses and request bodies."""
    found = []

    def visit_content(where: str, content: dict):
        for media in content.values():
            if "example" in media:
                found.append((where, media["schema"], media["example"]))
            for name, example in media.get("examples", {}).items():
                found.append((f"{where} ({name})", media["schema"], example["value"]))

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                visit_content(f"{method.upper()} {path} request", operation["requestBody"]["content"])
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    continue
                visit_content(f"{method.upper()} {path} {status}", response.get("content", {}))
    for name, response in document["components"]["responses"].items():
        visit_content(f"components/responses/{name}", response["content"])
    return found


def test_every_example_validates_against_its_schema():
    document = openapi_document()
    found = examples(document)
    assert len(found) >= 10
    problems = []
    for where, schema, example in found:
        for error in schema_validator(document, schema).iter_errors(example):
            problems.append(f"{where}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
    assert problems == []


def test_the_schemas_are_valid_json_schema():
    for schema in openapi_document()["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises SchemaError, naming the fault


def test_every_reference_resolves():
    document = openapi_document()
    text = repr(document)
    for kind, name in set(re.findall(r"#/components/(schemas|responses)/(\w+)", text)):
        assert name in document["components"][kind], f"{kind}/{name}"


@pytest.mark.parametrize(
    "schema, instance",
    [("Money", "1500.0"), ("Money", 1500), ("Instant", "2026-03-01T09:00:00"), ("Invalid", {"error": "invalid", "message": "x", "fields": {}})],
)
def test_the_schemas_refuse_what_the_api_never_sends(schema, instance):
    document = openapi_document()
    validator = schema_validator(document, {"$ref": f"#/components/schemas/{schema}"})
    assert list(validator.iter_errors(instance))
