"""The drill's quick run (bench/drill.py --quick): the whole system started as ./run.sh
starts it, under buyers, gates (half offline-capable), dashboards and a voice question,
with the web pool killed -9 and an online backup. Nothing may be lost or doubled, and
Ctrl-C must leave no process behind."""
from __future__ import annotations

import shutil

import pytest

from bench import drill


@pytest.mark.skipif(shutil.which("nginx") is None and not drill.Path("/usr/sbin/nginx").exists(),
                    reason="nginx is installed by scripts/setup.sh")
def test_the_quick_drill_loses_and_doubles_nothing():
    result = drill.run("quick")
    assert result["invariants"] == {k: 0 for k in result["invariants"]}, result["invariants"]
    assert result["counts"]["bookings acknowledged"] > 50
    assert result["counts"]["tickets admitted"] > 20
    assert "integrity ok" in result["counts"]["backup"]
    web = result["faults"]["web pool killed (-9)"]
    assert web["site answered again after s"] is not None       # restarted by the supervisor
    assert result["requests"]["dashboard stream"].get("dropped", 0) == 0   # live pool untouched
    streams = result["gate_latency"]["streams"]
    assert streams["n"] > 0 and "HTTP 503" not in str(result["requests"].get("gate scan "
                                                                             "(gate_client, online)"))
    assert result["stop_exit"] == 0 and result["orphans"] == 0
