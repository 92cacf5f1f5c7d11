"""The OpenAPI schema's parts drf-spectacular cannot see: the key authentication (a bearer
token) and the problem-details answers every operation may give."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

PROBLEM = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "nullable": True},
                    "pointer": {"type": "string"},
                    "detail": {"type": "string"},
                },
                "required": ["pointer", "detail"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}
_DESCRIPTIONS = {
    "400": "Invalid input (field errors in `errors`).",
    "401": "The API key is missing, invalid, expired or revoked.",
    "403": "The key lacks the scope, or its creator's role the permission.",
    "404": "Not found, or not of the key's organization.",
    "409": "A business rule refused it; nothing changed.",
    "422": "The Idempotency-Key was used with another request.",
    "429": "Rate limit exceeded; see Retry-After.",
}
RATE_LIMIT_HEADERS = {
    name: {"schema": {"type": "integer"}, "description": description}
    for name, description in (
        ("RateLimit-Limit", "Requests allowed per window."),
        ("RateLimit-Remaining", "Requests left in this window."),
        ("RateLimit-Reset", "Seconds until the window resets."),
    )
}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key of the organization: `Authorization: Bearer <prefix>.<secret>`.",
        }


def add_problem_responses(result, generator, request, public):
    """Postprocessing hook: the Problem schema, the error answers of every operation, and the
    rate-limit headers on every answer."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            # 404 also where the path has no id: a replenish names accounts in its body.
            codes = ["400", "401", "403", "404", "429"]
            if method in ("post", "patch", "put", "delete"):
                codes += ["409", "422"]
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(
                    code,
                    {"description": _DESCRIPTIONS[code], "content": {"application/problem+json": {"schema": PROBLEM}}},
                )
            for answer in responses.values():
                answer.setdefault("headers", {}).update(RATE_LIMIT_HEADERS)
    return result
