"""Contracts of core's JSON answers: /healthz and the OpenAPI document itself."""

from typing import Any, Literal

from pydantic import ConfigDict

from .contracts import Reply


class Health(Reply):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"status": "ok", "db": "ok", "migrations": "current"}]})
    status: Literal["ok", "error"]
    db: Literal["ok", "unreachable"]
    migrations: Literal["current", "pending"] | None = None
    pending: list[str] | None = None


class OpenApiDocument(Reply):
    """An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0)."""
    model_config = ConfigDict(extra="allow")
    openapi: str
    info: dict
    paths: dict
    components: dict


class PowChallenge(Reply):
    """A proof-of-work challenge (ALTCHA v2 JSON): solve it in the browser (the vendored
    ALTCHA widget) and send the payload as ``altcha`` with an online booking."""
    parameters: dict[str, Any]
    signature: str
