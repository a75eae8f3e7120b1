"""The gate side of the ticket gates: what a turnstile's computer runs.

It scans online through ``POST /api/gate/scan`` and, when the server cannot be reached,
decides offline from the day's bundle (``GET /api/gate/bundle``) with the same rules as
the server (``gates.rules``) and the same code verification (``ticketing.codes``), keeps
every offline scan in a bounded on-disk queue, and uploads the queue when the server is
back (``POST /api/gate/offline-scans``). CLI: ``python -m gate_client --help``.
"""
from .client import GateClient, NoBundle, QueueFull  # noqa: F401
from .offline import OfflineValidator  # noqa: F401
