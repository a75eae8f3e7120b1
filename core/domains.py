"""The domain packages, in dependency order, and their optional plug-in modules
(``settings``, ``messages``, ``migrations``, ``demo``, ``models``; see docs/DEVELOPING.md)."""
from __future__ import annotations

from importlib import import_module
from types import ModuleType

# A domain's tables and services may use those of the domains before it.
DOMAINS = ("catalog", "ticketing", "gates", "crowd", "guide")


def domain_modules(name: str, owners=("core",) + DOMAINS) -> list[ModuleType]:
    """``<owner>.<name>`` for every owner that has one, in order; a missing module is
    skipped, but an import error inside an existing one is raised."""
    found = []
    for owner in owners:
        module = f"{owner}.{name}"
        try:
            found.append(import_module(module))
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return found
