"""The site bitmask of a ticket: bit i stands for ``SITE_ORDER[i]``.

Codes carry it (one byte), tickets store it (``tk_tickets.sites_mask``) and SQL tests it
(``sites_mask & bit``), so this order is part of the code format: append, never reorder.
"""
from __future__ import annotations

from collections.abc import Iterable

SITE_ORDER = ("taishan", "daimiao", "kongmiao", "kongfu", "konglin")


class UnknownSite(ValueError):
    """A site id that has no bit."""


def site_bit(site_id: str) -> int:
    """The bit of one site; UnknownSite for any other id."""
    if site_id not in SITE_ORDER:
        raise UnknownSite(site_id)
    return 1 << SITE_ORDER.index(site_id)


def site_mask(sites: Iterable[str]) -> int:
    """The mask of some sites; UnknownSite for an unknown id, ValueError for none."""
    mask = 0
    for site_id in sites:
        mask |= site_bit(site_id)
    if not mask:
        raise ValueError("a ticket needs at least one site")
    return mask


def sites_of(mask: int) -> tuple[str, ...]:
    """The site ids of a mask, in ``SITE_ORDER``."""
    return tuple(s for i, s in enumerate(SITE_ORDER) if mask & (1 << i))


def is_valid_mask(mask: int) -> bool:
    return 0 < mask < (1 << len(SITE_ORDER))
