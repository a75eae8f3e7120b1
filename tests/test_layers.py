"""The import rules between the parts of the system, read from the source (ast).

Layers, bottom up: ``admission`` (the turnstile's core, no server imports) · ``core``
(the foundation: imports no domain; its error base class is admission's) · the domains in ``core.domains.DOMAINS`` order
(catalog, ticketing, gates, crowd, guide). A domain may import ``core``, ``admission``
and the seam (``<domain>/interface.py``) of a domain before it; nothing else of another
domain, and nothing of a domain after it. ``gate_client`` imports ``admission`` only.
docs/DEVELOPING.md explains the order.
"""
from __future__ import annotations

import ast
import inspect
import sys
from importlib import import_module
from pathlib import Path

import pytest

from core.domains import DOMAINS

ROOT = Path(__file__).resolve().parents[1]
SERVER = ("core",) + DOMAINS
PACKAGES = ("admission", "gate_client") + SERVER
# What the turnstile may import besides the standard library and admission.
TURNSTILE_THIRD_PARTY = {"cryptography", "requests", "cv2", "numpy"}


def imports_of(path: Path, package: str):
    """(line, imported module) for every import in a file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[:-node.level]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            # ``from x import y`` may import the module x.y: report that when it is one.
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                top = sub.split(".")[0]
                is_module = top in PACKAGES and (ROOT / Path(*sub.split("."))).with_suffix(".py").exists()
                yield node.lineno, sub if is_module else module


def violation(package: str, module: str) -> str | None:
    top = module.split(".")[0]
    if top == package:
        return None
    if package in ("admission", "gate_client"):
        if package == "gate_client" and top == "admission":
            return None
        if top in PACKAGES:
            return f"{package} may not import the server ({module})"
        if top not in sys.stdlib_module_names and top not in TURNSTILE_THIRD_PARTY:
            return f"{package} may not depend on {top} (the turnstile installs only " \
                   f"{sorted(TURNSTILE_THIRD_PARTY)})"
        return None
    if top not in PACKAGES or top == "admission":
        return None
    if package == "core":
        return f"core imports no domain ({module})"
    if top == "core":
        return None
    if top == "gate_client":
        return f"the server does not import the turnstile ({module})"
    if DOMAINS.index(top) > DOMAINS.index(package):
        return f"{package} comes before {top} and may not import it ({module})"
    if module != f"{top}.interface":
        return f"{package} may use only {top}.interface, not {module}"
    return None


def all_violations(package_dir=ROOT):
    found = []
    for package in PACKAGES:
        for path in sorted((package_dir / package).rglob("*.py")):
            for line, module in imports_of(path, package):
                problem = violation(package, module)
                if problem:
                    found.append(f"{path.relative_to(package_dir)}:{line}: {problem}")
    return found


def test_every_import_follows_the_layers():
    assert all_violations() == []


@pytest.mark.parametrize("package, module, allowed", [
    ("gates", "ticketing.interface", True),
    ("gates", "ticketing.quota", False),           # another domain's non-seam module
    ("ticketing", "gates.interface", False),       # upwards
    ("core", "catalog.interface", False),          # core imports no domain
    ("crowd", "admission.rules", True),
    ("admission", "core.errors", False),
    ("core", "admission.errors", True),            # the error family's base lives there
    ("admission", "flask", False),
    ("gate_client", "admission.codes", True),
    ("gate_client", "gates.services", False),
    ("gate_client", "requests", True),
    ("guide", "crowd.interface", True),
])
def test_the_rule_itself_can_fail(package, module, allowed):
    assert (violation(package, module) is None) == allowed


def test_relative_and_from_imports_are_resolved(tmp_path):
    pkg = tmp_path / "ticketing"
    pkg.mkdir()
    (pkg / "x.py").write_text("from gates import services\nfrom . import quota\n"
                              "def f():\n    from crowd.interface import zone_levels\n")
    (tmp_path / "gates").mkdir()
    (tmp_path / "gates" / "services.py").write_text("")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = [m for _line, m in imports_of(pkg / "x.py", "ticketing")]
    finally:
        ROOT = saved
    # ``from . import quota`` names no file here, so it resolves to the package itself.
    assert found == ["gates.services", "ticketing", "crowd.interface"]
    assert [violation("ticketing", m) is None for m in found] == [False, True, False]


@pytest.mark.parametrize("domain", [d for d in DOMAINS if (ROOT / d / "interface.py").exists()])
def test_each_seam_is_typed_and_lists_what_it_offers(domain):
    seam = import_module(f"{domain}.interface")
    assert seam.__doc__ and seam.__all__
    for name in seam.__all__:
        obj = getattr(seam, name)
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            untyped = [p for p in sig.parameters if sig.parameters[p].annotation is
                       inspect.Parameter.empty]
            assert not untyped, f"{domain}.interface.{name}: untyped {untyped}"
            assert sig.return_annotation is not inspect.Signature.empty, name


def test_every_domain_but_the_last_has_a_seam():
    # The guide is the top layer: nothing may import it, so it offers no seam.
    assert [d for d in DOMAINS if (ROOT / d / "interface.py").exists()] == list(DOMAINS[:-1])
