"""The installed domains, in dependency order, and how they plug into the foundation.

This tuple is the one list of domains: app.py registers their plug-ins from it, and
config, messages, migrations, demo data, model caches and the layer test
(tests/test_layers.py) read it. A domain may use ``core`` and the seams
(``<domain>/interface.py``) of the domains before it, never those after it.

Core imports no domain: it finds each domain's optional modules by name at run time
(``domain_modules``): ``settings``, ``messages``, ``migrations``, ``demo``, ``models``
and ``plugin``, whose ``PLUGIN`` says what the domain adds to the web app and the
command line (see docs/DEVELOPING.md).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType

DOMAINS = ("catalog", "ticketing", "gates", "crowd", "guide")


@dataclass(frozen=True)
class ConsoleLink:
    """A tile on the staff console (/console), shown to the given roles."""
    endpoint: str
    label: str                      # message key
    roles: tuple[str, ...] = ("staff",)
    position: int = 50              # tiles are sorted by it


@dataclass(frozen=True)
class ConsoleFigure:
    """One of today's figures at the top of the staff console (tickets sold, people inside,
    alerts): ``value(db, clock)`` is a whole number, ``endpoint`` the page with its detail.
    ``alarm``: a figure above zero asks for attention (shown highlighted)."""
    endpoint: str
    label: str                      # message key
    value: Callable[..., int]
    alarm: bool = False
    roles: tuple[str, ...] = ("staff",)
    position: int = 50


@dataclass(frozen=True)
class SiteLink:
    """An action on each site's card on the home page; the endpoint takes ``site_id``."""
    endpoint: str
    label: str                      # message key
    primary: bool = False
    position: int = 50


@dataclass(frozen=True)
class DevicePage:
    """Where a domain registers the devices of one role together with what they need to
    work (a gate with its site and direction): the accounts page links there and makes
    no bare account of that role. ``reason`` (lazy text) says why, to whoever posts one."""
    role: str
    endpoint: str
    label: str                      # message key
    reason: object = ""
    anchor: str = ""                # the part of that page with the form


@dataclass(frozen=True)
class HomeSection:
    """A part of the home page: ``template`` rendered with ``context(db, clock)`` and
    ``site_links`` (every plug-in's SiteLinks)."""
    template: str
    context: Callable[..., dict]


@dataclass(frozen=True)
class Plugin:
    """What a domain adds to the app; each domain's ``plugin.py`` defines ``PLUGIN``."""
    name: str
    blueprints: tuple = ()          # flask.Blueprint objects, registered in order
    commands: tuple = ()            # click commands or groups under ``flask --app app``
    console: tuple[ConsoleLink, ...] = ()
    figures: tuple[ConsoleFigure, ...] = ()
    site_links: tuple[SiteLink, ...] = ()
    home: HomeSection | None = None
    device_pages: tuple[DevicePage, ...] = ()
    init_app: Callable | None = None  # init_app(app): configuration only, starts nothing


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


def plugins() -> list[Plugin]:
    """Core's plug-in, then each domain's, in dependency order."""
    return [mod.PLUGIN for mod in domain_modules("plugin")]
