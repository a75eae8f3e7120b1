"""The crowd monitor's model work as jobs for the inference pool (core.inference): the
occupancy forecast learns its models once a day and fits statsforecast's AutoETS for the
7-day forecast (seconds of CPU, plus the import), so it runs in a niced model worker, never
in a thread that gate scans share. A job takes plain values and opens its own connection."""
from __future__ import annotations

from core.db import own_connection

from . import services


def site_forecast(settings: dict, site_id: str, clock, policy: services.Policy) -> dict:
    """services.site_forecast in a worker; ``settings`` holds DATABASE and
    DB_BUSY_TIMEOUT_MS."""
    with own_connection(settings) as db:
        return services.site_forecast(db, site_id, clock, policy=policy)
