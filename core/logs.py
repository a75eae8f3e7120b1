"""Structured (JSON-lines) logs with a request id on every line.

Never log request bodies: they can carry ID numbers and names.
"""
from __future__ import annotations

import json
import logging
import sys
import time
import uuid

from flask import g, has_request_context, request


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
                 "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        if has_request_context():
            entry["request_id"] = getattr(g, "request_id", None)
        for key in ("event", "status", "ms", "method", "path", "code"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# URL parts that are credentials (an order's link secret): never written to the logs.
SECRET_VIEW_ARGS = ("secret",)


def logged_path() -> str:
    """The request's path with credential parts replaced by '[secret]'."""
    path = request.path
    for name in SECRET_VIEW_ARGS:
        value = (request.view_args or {}).get(name)
        if value:
            path = path.replace(str(value), "[secret]")
    return path


def setup(app) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("scenic")
    logger.handlers[:] = [handler]
    logger.setLevel(app.config["LOG_LEVEL"])
    logger.propagate = False
    app.logger.handlers[:] = [handler]
    app.logger.setLevel(app.config["LOG_LEVEL"])

    @app.before_request
    def _start():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() \
            else uuid.uuid4().hex[:16]
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = getattr(g, "request_id", "")
        if request.path not in ("/healthz",) and not request.path.startswith("/static/"):
            # Under ./run.sh this goes to instance/logs/scenic.log, never the terminal; the
            # front's access log (instance/logs/access.log) also has requests that no pool
            # answered.
            logger.info("request", extra={
                "event": "request", "method": request.method, "path": logged_path(),
                "status": response.status_code,
                "ms": round((time.perf_counter() - getattr(g, "started", time.perf_counter()))
                            * 1000, 1)})
        return response
