"""Alert levels from occupancy: pure functions, no database, no clock reads.

Levels rise with occupancy/capacity (defaults: notice 70%, warning 80%, critical 100%;
LB/T 034-2014 asks a site at 80% to announce, report and stop selling). Two guards keep
an alert from flapping:

* hysteresis: a level clears only when the ratio falls below its mark minus ``hysteresis``;
* debounce: a new level takes effect only after it has held for ``debounce_s`` seconds.

An unknown occupancy (no fresh data) changes nothing: it neither raises nor clears.
"""
from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("normal", "notice", "warning", "critical")
RANK = {name: i for i, name in enumerate(LEVELS)}
# The names the dashboard shows (templates/crowd/dashboard.html, through the catalogues),
# for records written once in both languages (the monitor's pause reason). Written here, not
# looked up in the catalogues: evaluation also runs where there is no app context to render
# them (the dashboard feed's thread, the MQTT bridge's), and the record must not turn
# English-only there.
NAMES = {"normal": {"zh": "正常", "en": "normal"}, "notice": {"zh": "提示", "en": "notice"},
         "warning": {"zh": "预警", "en": "warning"}, "critical": {"zh": "严重", "en": "critical"}}


@dataclass(frozen=True)
class Thresholds:
    notice: float = 0.7
    warning: float = 0.8
    critical: float = 1.0
    hysteresis: float = 0.05
    debounce_s: float = 10.0

    def __post_init__(self):
        if not (0 < self.notice <= self.warning <= self.critical):
            raise ValueError("thresholds must satisfy 0 < notice <= warning <= critical")
        if self.hysteresis < 0 or self.debounce_s < 0:
            raise ValueError("hysteresis and debounce must be 0 or more")

    def mark(self, level: str) -> float:
        return {"notice": self.notice, "warning": self.warning, "critical": self.critical}[level]

    @classmethod
    def from_config(cls, cfg) -> "Thresholds":
        return cls(cfg["CROWD_NOTICE_RATIO"], cfg["CROWD_WARNING_RATIO"],
                   cfg["CROWD_CRITICAL_RATIO"], cfg["CROWD_HYSTERESIS"],
                   cfg["CROWD_DEBOUNCE_SECONDS"])


def raw_level(ratio: float | None, th: Thresholds) -> str:
    """The level a ratio reaches, without memory; "unknown" when there is no ratio."""
    if ratio is None:
        return "unknown"
    for level in ("critical", "warning", "notice"):
        if ratio >= th.mark(level):
            return level
    return "normal"


def target_level(ratio: float, current: str, th: Thresholds) -> str:
    """The level to move towards, with hysteresis on the way down."""
    up = raw_level(ratio, th)
    if RANK[up] >= RANK[current]:
        return up
    level = current
    while level != "normal" and ratio < th.mark(level) - th.hysteresis:
        level = LEVELS[RANK[level] - 1]
    return level


@dataclass(frozen=True)
class LevelState:
    level: str = "normal"
    pending: str | None = None
    pending_since: float | None = None


def step(state: LevelState, ratio: float | None, now: float, th: Thresholds) -> LevelState:
    """Advance one target's level by one observation at time ``now`` (seconds)."""
    if ratio is None:
        return state
    target = target_level(ratio, state.level, th)
    if target == state.level:
        return LevelState(state.level)
    if state.pending != target:
        state = LevelState(state.level, target, now)
    if now - state.pending_since >= th.debounce_s:
        return LevelState(target)
    return state
