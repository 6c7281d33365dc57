"""The checked-in OpenAPI schema is the one the code generates: an API change without its schema fails here."""

from __future__ import annotations

from pathlib import Path

import yaml
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

CHECKED_IN = Path(__file__).resolve().parents[2] / "api" / "openapi.yaml"
REFRESH = "./manage.py spectacular --file api/openapi.yaml --validate"


def generated() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_checked_in_schema_matches_the_code():
    schema = generated()
    validate_schema(schema)
    current = OpenApiYamlRenderer().render(schema, renderer_context={}).decode()
    assert current == CHECKED_IN.read_text(), f"api/openapi.yaml is out of date: refresh it with `{REFRESH}`"


def test_every_operation_documents_its_errors_and_security():
    schema = generated()
    operations = [
        (path, method, operation) for path, methods in schema["paths"].items() for method, operation in methods.items()
    ]
    assert len(operations) >= 28
    for path, method, operation in operations:
        assert path.startswith("/api/v1/"), path
        answers = set(operation["responses"])
        assert {"400", "401", "403", "429"} <= answers, (path, method, answers)
        if method == "post":
            assert {"404", "409", "413", "415", "422"} <= answers, (path, method, answers)
            assert any(p["name"] == "Idempotency-Key" and p["required"] for p in operation["parameters"]), path
        assert operation["security"] == [{"token": []}, {"session": []}], path


def test_the_schema_and_the_reference_page_are_served_without_a_cdn(db):
    client = APIClient()
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    assert schema["info"]["title"] == "Groupbuy API"
    page = client.get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "/static/js/api-docs.js" in page
    assert "<script>" not in page and "cdn" not in page.lower()
