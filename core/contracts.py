"""Contracts of the JSON APIs: each view's request and response models (pydantic v2),
declared once with ``@contract``; the OpenAPI document (core.openapi) is built from them.

A view declares what it takes and answers::

    @bp.post("/api/gate/scan")
    @csrf_exempt
    @token_required("gate")
    @contract(body=ScanIn, returns=ScanOut, errors={409: ("nonce_reused",)})
    def api_scan(body: ScanIn): ...

``@contract`` goes below the auth decorators, so a request is authenticated before its
body is read. The view receives the validated ``body`` (and ``query``, ``headers``) as
models. A bad
value is refused with the stable code its field declares (``Refuse`` in the field's
``Annotated`` metadata, the deepest one on the path wins), in the request's language:
the same ``{"error": code, "message": ...}`` a service's DomainError gives. A body that
is not a JSON object is ``invalid_json``, as ``core.web.json_body`` always answered.

Under tests (``TESTING``) every answer of a view with a contract is checked against it:
a success body against its model, an error's status and code against the codes the
contract lists (core.openapi adds those of the guards). A mismatch is recorded in
``app.extensions["scenic.contract_violations"]``, and tests/conftest.py fails the test.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import wraps
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

import pydantic
from flask import current_app, request
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, SkipValidation

from .errors import DomainError
from .web import invalid_json

Refusal = Callable[[str], DomainError]
MAX_VIOLATIONS = 200  # tests only; bounded all the same


@dataclass(frozen=True)
class Refuse:
    """``Annotated`` metadata: the error a bad value of this field is refused with.
    ``error(field)`` gets the field's path (``regions[0].name``) and returns the
    DomainError to raise."""
    error: Refusal


class Body(BaseModel):
    """A request body or query string. Unknown keys are ignored unless a model says
    otherwise (``extra="forbid"`` with an ``unknown_field`` refusal)."""
    model_config = ConfigDict(extra="ignore")
    refusal: ClassVar[Refusal | None] = None        # for fields that declare none
    unknown_field: ClassVar[Refusal | None] = None  # with extra="forbid"
    not_an_object: ClassVar[Refusal | None] = None  # default: invalid_json


class Reply(BaseModel):
    """A response body: every key is described (tests check each answer against it)."""
    model_config = ConfigDict(extra="forbid")


def reply_of(model: type[BaseModel], name: str, *, drop: tuple[str, ...] = (),
             **fields) -> type[Reply]:
    """An answer with the fields of a request model (their types and descriptions, not
    their checks), less ``drop``, plus or instead of ``fields`` (name=(type, default))."""
    keep = {n: (info.annotation, Field(description=info.description))
            for n, info in model.model_fields.items() if n not in drop and n not in fields}
    return pydantic.create_model(name, __base__=Reply, __module__=model.__module__, **keep,
                                 **fields)


# --- field types shared by domains ------------------------------------------------------

def from_text(parse: Callable[[str], Any], max_chars: int = 64) -> Callable[[Any], Any]:
    """A before-validator: text that ``parse`` reads becomes its value (forms send text;
    JSON clients send the value itself); anything else is left for the type to refuse."""
    def convert(value):
        if isinstance(value, str) and len(value) <= max_chars:
            try:
                return parse(value.strip())
            except ValueError:
                return value
        return value
    return convert


def _whole(text: str) -> int:
    if not text.lstrip("-").isdigit():  # int() would also take "1_000" and "٣"
        raise ValueError(text)
    return int(text)


def _flag_text(value):
    # An unticked form checkbox sends nothing, a ticked one "on"; "" reads as off.
    if isinstance(value, str) and value.strip() == "":
        return False
    return value


def day(refusal: Refusal, **field_args) -> Any:
    """A calendar day as YYYY-MM-DD text."""
    return Annotated[date, BeforeValidator(from_text(date.fromisoformat)),
                     Field(strict=True, **field_args), Refuse(refusal)]


def moment(refusal: Refusal, **field_args) -> Any:
    """A moment as ISO 8601 text with its UTC offset (2026-07-15T10:00:00+08:00)."""
    return Annotated[AwareDatetime, BeforeValidator(from_text(datetime.fromisoformat, 40)),
                     Field(strict=True, **field_args), Refuse(refusal)]


def whole(lo: int | None, hi: int | None, refusal: Refusal, **field_args) -> Any:
    """A whole number in [lo, hi] (JSON number, or digits as text); never a boolean or a
    fraction."""
    return Annotated[int, BeforeValidator(from_text(_whole, 18)),
                     Field(strict=True, ge=lo, le=hi, **field_args), Refuse(refusal)]


def number(lo: float | None, hi: float | None, refusal: Refusal, **field_args) -> Any:
    """A finite number in [lo, hi] (JSON number, or a number as text); never a boolean."""
    return Annotated[float, BeforeValidator(from_text(float)),
                     Field(strict=True, ge=lo, le=hi, allow_inf_nan=False, **field_args),
                     Refuse(refusal)]


def flag(refusal: Refusal, **field_args) -> Any:
    """true or false (also 0/1 and the words forms send: on/off, yes/no, "")."""
    return Annotated[bool, BeforeValidator(_flag_text), Field(**field_args), Refuse(refusal)]


# --- refusals ---------------------------------------------------------------------------

def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unwrap(tp) -> tuple[Any, list[Refusal]]:
    """Strip Annotated and Optional, collecting the Refuse metadata met on the way."""
    found = []
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp, *meta = get_args(tp)
            found += [m.error for m in meta if isinstance(m, Refuse)]
        elif origin is Union or (origin is not None and type(tp).__name__ == "UnionType"):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp, found
            tp = members[0]
        else:
            return tp, found


def _is_model(tp) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _model_field(model: type[BaseModel], key):
    for name, info in model.model_fields.items():
        if key == name or key == info.alias:
            return info
    return None


def refusal_for(model: type[BaseModel], loc: tuple) -> Refusal | None:
    """The refusal of the field at ``loc`` (pydantic's error location) in ``model``."""
    found = model.refusal if issubclass(model, Body) else None
    tp = model
    for part in loc:
        tp, refs = _unwrap(tp)
        found = refs[-1] if refs else found
        if _is_model(tp):
            if getattr(tp, "refusal", None) is not None:
                found = tp.refusal
            info = _model_field(tp, part)
            if info is None:  # a key the model does not know
                return getattr(tp, "unknown_field", None) or found
            refs = [m.error for m in info.metadata if isinstance(m, Refuse)]
            found = refs[-1] if refs else found
            tp = info.annotation
        elif get_origin(tp) in (list, tuple, set, frozenset):
            args = [a for a in get_args(tp) if a is not Ellipsis]
            tp = (args[part] if isinstance(part, int) and get_origin(tp) is tuple
                  and part < len(args) else (args[0] if args else Any))
        elif get_origin(tp) in (dict, Mapping):
            tp = get_args(tp)[1] if get_args(tp) else Any
        # any other part (a union's tag) leaves the type as it is
    tp, refs = _unwrap(tp)
    return refs[-1] if refs else found


def _first_error(exc: pydantic.ValidationError) -> dict:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    # Unknown keys first: a typo must not hide behind another field's complaint.
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


def refuse(model: type[BaseModel], exc: pydantic.ValidationError) -> DomainError:
    """The DomainError for pydantic's complaint about ``model``."""
    err = _first_error(exc)
    loc = tuple(err["loc"])
    if not loc:  # not JSON, or not an object
        return model.not_an_object("") if getattr(model, "not_an_object", None) else \
            invalid_json()
    found = refusal_for(model, loc)
    if found is None:
        raise LookupError(f"{model.__name__}: no Refuse declared for {_path(loc)} "
                          f"({err['type']})") from exc
    return found(_path(loc))


def validate(model: type[BaseModel], data) -> BaseModel:
    """``data`` (a dict, e.g. from a form) as ``model``, or the field's DomainError."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise refuse(model, exc) from None


def validate_json(model: type[BaseModel], raw: bytes | str) -> BaseModel:
    try:
        return model.model_validate_json(raw)
    except pydantic.ValidationError as exc:
        raise refuse(model, exc) from None


def refusals(model: type[BaseModel], prefix: tuple = ()) -> list[tuple[str, Refusal]]:
    """Every (field path, refusal) a model can answer with, nested models included:
    for the document's error codes and the test that every field has one."""
    out = []
    for attr in ("refusal", "unknown_field", "not_an_object"):
        if getattr(model, attr, None) is not None:
            out.append((_path(prefix) or model.__name__, getattr(model, attr)))
    for name, info in model.model_fields.items():
        key = prefix + (info.alias or name,)
        refs = [m.error for m in info.metadata if isinstance(m, Refuse)]
        out += [(_path(key), r) for r in refs]
        out += _nested_refusals(info.annotation, key)
    return out


def _nested_refusals(tp, key: tuple) -> list[tuple[str, Refusal]]:
    if get_origin(tp) is Annotated and any(isinstance(m, SkipValidation)
                                           for m in get_args(tp)[1:]):
        return []  # checked elsewhere (e.g. one by one, each answered in its result)
    tp, refs = _unwrap(tp)
    out = [(_path(key), r) for r in refs]
    if _is_model(tp):
        return out + refusals(tp, key)
    for i, arg in enumerate(a for a in get_args(tp) if a is not Ellipsis):
        if get_origin(tp) is Literal:
            break
        out += _nested_refusals(arg, key + ((i,) if get_origin(tp) in (list, tuple) else ("*",)))
    return out


# --- the decorator ----------------------------------------------------------------------

@dataclass(frozen=True)
class Contract:
    """What one view takes and answers (see ``contract``)."""
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    headers: type[BaseModel] | None = None  # fields aliased to header names
    returns: Mapping[int, type[BaseModel]] = field(default_factory=dict)
    errors: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    upload: type[BaseModel] | None = None   # a body the view reads itself (documented only)
    media: str | None = None                # its media type
    body_limit: Callable[[Mapping], int] | None = None
    summary: str = ""


def contract(*, body=None, body_required: bool = True, query=None, headers=None, returns=None,
             status: int = 200, errors: Mapping[int, tuple[str, ...]] | None = None,
             upload=None, media: str | None = None, body_limit=None, summary: str = ""):
    """Declare a JSON view's request and answers.

    Request: ``body`` (a JSON object; ``body_required=False``: an empty body reads as {}),
    ``query`` (the query string), ``headers`` (a model whose field aliases are header
    names), or ``upload`` and ``media`` (a body the view reads itself, e.g. a photo:
    documented, not validated). ``body_limit(config)``: the largest body in bytes,
    checked before it is read (413 too_large).
    Answers: ``returns``, a model for ``status`` or {status: model}; ``errors``, {status:
    codes} the services can refuse with, besides the fields' own and the guards' codes."""
    answers = returns if isinstance(returns, Mapping) else (
        {status: returns} if returns is not None else {})
    c = Contract(body=body, body_required=body_required, query=query, headers=headers,
                 returns=answers, errors=dict(errors or {}), upload=upload, media=media,
                 body_limit=body_limit, summary=summary)

    def deco(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if c.body_limit is not None:
                request.max_content_length = c.body_limit(current_app.config)
            if c.query is not None:
                kwargs["query"] = validate(c.query, request.args.to_dict())
            if c.headers is not None:
                kwargs["headers"] = validate(c.headers, {
                    info.alias: request.headers[info.alias]
                    for info in c.headers.model_fields.values() if info.alias in request.headers})
            if c.body is not None:
                kwargs["body"] = _body(c)
            return view(*args, **kwargs)
        wrapper._contract = c
        return wrapper
    return deco


def _body(c: Contract) -> BaseModel:
    raw = request.get_data(cache=True)
    if not raw and not c.body_required:
        return validate(c.body, {})
    if not request.is_json:
        raise invalid_json()
    return validate_json(c.body, raw)


def contract_of(view) -> Contract | None:
    return getattr(view, "_contract", None)


# --- checking answers under tests -------------------------------------------------------

def init_app(app) -> None:
    if not app.testing:
        return
    app.extensions.setdefault("scenic.contract_violations", [])

    @app.after_request
    def _check_answer(response):
        view = app.view_functions.get(request.endpoint or "")
        c = contract_of(view)
        # OPTIONS is Flask's own answer (the allowed methods), not the view's.
        if c is not None and request.method != "OPTIONS" and not response.direct_passthrough:
            problem = answer_problem(request.url_rule, view, c, response)
            if problem:
                found = app.extensions["scenic.contract_violations"]
                if len(found) < MAX_VIOLATIONS:
                    found.append(f"{request.method} {request.path} -> {response.status_code}: "
                                 f"{problem}")
        return response


def answer_problem(rule, view, c: Contract, response) -> str | None:
    """What is wrong with ``response`` for a view with contract ``c``, or None."""
    from .openapi import error_codes  # the guards' codes are the document's concern
    status = response.status_code
    if response.mimetype != "application/json":
        # Pages' error answers are HTML; a JSON API always answers JSON.
        return None if status >= 400 and not request.path.startswith("/api/") else (
            f"answered {response.mimetype}, not JSON")
    try:
        data = json.loads(response.get_data())
    except ValueError:
        return "the body is not JSON"
    if status < 400:
        model = c.returns.get(status)
        if model is None:
            return f"status {status} is not in the contract (add it to returns=)"
        try:
            model.model_validate_json(response.get_data(), strict=True)
        except pydantic.ValidationError as exc:
            return f"the body breaks {model.__name__}: {exc.errors(include_url=False)[:3]}"
        return None
    codes = error_codes(rule, view, c, request.method).get(status, set())
    code = data.get("error") if isinstance(data, dict) else None
    if code not in codes:
        return (f"error {code!r} with status {status} is not in the contract; add it to "
                f"errors={{{status}: (...)}} of @contract on {view.__name__}")
    return None
