"""The OpenAPI schema: valid (openapi-spec-validator), and true to the live app — schemathesis
generates calls to every operation from it and checks each answer (no 5xx, status code,
content type and body as the schema says), and that a key without the operation's scope is
always refused."""

from __future__ import annotations

import json

import hypothesis
import pytest
import schemathesis
from django.test import Client
from openapi_spec_validator import validate

from api.scopes import OPERATIONS, Scope
from customers.tests.factories import CustomerAccountFactory

# Examples per operation and key: 19 operations × (EXAMPLES + REFUSED_EXAMPLES) cases, about a
# minute on a 2-core machine.
EXAMPLES = 25
REFUSED_EXAMPLES = 5


def _schema() -> dict:
    response = Client().get("/api/v1/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert response.status_code == 200
    return json.loads(response.content) if response.content.startswith(b"{") else _yaml(response.content)


def _yaml(content: bytes) -> dict:
    import yaml

    return yaml.safe_load(content)


def test_the_schema_is_valid_openapi(db):
    schema = _schema()
    validate(schema)
    operation_ids = {operation["operationId"] for methods in schema["paths"].values() for operation in methods.values()}
    assert operation_ids == set(OPERATIONS)
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def test_the_docs_pages_are_served_from_the_portal(client, db):
    for url in ("/api/v1/schema/swagger/", "/api/v1/schema/redoc/"):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "https://" not in html and "<style" not in html
    assert client.get("/api/v1/schema/swagger/?script=").status_code == 200


class Tally:
    cases = 0


def _run(operation, *, base_url: str, headers: dict, ids: list[int], examples: int, check) -> None:
    @hypothesis.given(case=operation.as_strategy(), pick=hypothesis.strategies.integers(0, 4))
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    def call(case, pick):
        # Most generated ids name nothing (404); some calls aim at real accounts instead.
        parameters = case.path_parameters or {}
        if "id" in parameters and pick < len(ids):
            parameters["id"] = ids[pick]
        response = case.call(base_url=base_url, headers=headers)
        Tally.cases += 1
        check(case, response)

    call()


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_fault_in_any_operation(
    live_server, operator_user, msp_org, msp_admin, settings, make_key
):
    from points.services import points_purchase

    from .test_scopes import webhook_objects

    settings.PORTAL_API_RATE_LIMIT = "1000000/min"
    points_purchase(actor=None, organization=msp_org, amount=10_000, order_reference="PO", idempotency_key="fund")
    ids = [
        CustomerAccountFactory(organization=msp_org, status=status).pk
        for status in ("active", "pending_approval", "provisioning_failed")
    ]
    # Webhook endpoints (and a delivery) for the webhooks:manage operations to find.
    ids.append(webhook_objects(msp_admin)["w"])
    schema = schemathesis.openapi.from_dict(_schema())
    _key, full_secret = make_key(operator_user, Scope.values)
    checks = [
        schemathesis.checks.not_a_server_error,
        schemathesis.specs.openapi.checks.status_code_conformance,
        schemathesis.specs.openapi.checks.content_type_conformance,
        schemathesis.specs.openapi.checks.response_schema_conformance,
    ]
    Tally.cases = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(OPERATIONS)
    for operation in operations:
        _run(
            operation,
            base_url=live_server.url,
            headers={"Authorization": f"Bearer {full_secret}"},
            ids=ids,
            examples=EXAMPLES,
            check=lambda case, response: case.validate_response(response, checks=checks),
        )
        needed = OPERATIONS[operation.definition.raw["operationId"]].scope
        _key, other_secret = make_key(operator_user, [scope for scope in Scope.values if scope != needed])

        def refused(case, response, needed=needed):
            # 403 before any look-up; only a path that routes nowhere (a negative id) is a 404.
            routable = all(not isinstance(v, int) or v > 0 for v in (case.path_parameters or {}).values())
            expected = {403} if routable else {403, 404}
            assert response.status_code in expected, f"{case.method} {case.formatted_path} without {needed}"

        _run(
            operation,
            base_url=live_server.url,
            headers={"Authorization": f"Bearer {other_secret}"},
            ids=ids,
            examples=REFUSED_EXAMPLES,
            check=refused,
        )
    print(f"schemathesis: {Tally.cases} generated cases over {len(operations)} operations")
    assert Tally.cases >= len(operations) * (REFUSED_EXAMPLES + 1)
