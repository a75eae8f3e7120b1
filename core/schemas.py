"""Contracts of core's JSON answers: /healthz and the OpenAPI document itself."""

from typing import Literal

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
