"""The gate side of the ticket gates: what a turnstile's computer runs.

It scans online through ``POST /api/gate/scan`` and, when the server cannot be reached,
decides offline from the day's bundle (``GET /api/gate/bundle``) with the same rules and
the same code verification as the server (the ``admission`` core), keeps every offline
scan in a bounded on-disk queue, and uploads the queue when the server is back
(``POST /api/gate/offline-scans``). CLI: ``python -m gate_client --help``.

It imports ``admission`` and nothing else of the server, and installs on its own with
``pip install ./turnstile`` (see docs/gates.md); tests/test_turnstile.py proves both.
"""
from .client import GateClient, NoBundle, QueueFull
from .offline import OfflineValidator

__all__ = ["GateClient", "NoBundle", "OfflineValidator", "QueueFull"]
