"""Fair sharing of one detector among many cameras (pure: no model, no threads).

A worker serves every camera of a box with one model. Each step it may run at most
``budget`` tiles (so a step stays short and reports stay on time however many cameras
there are); which cameras' frames go in is decided here, by round robin over the cameras
that have a frame waiting: the turn starts after the camera served last, and goes round
in a fixed order. A camera that sends frames ten times as fast, or has twice the tiles,
still gets one detector pass per turn, like every other camera with a frame waiting, so
no busy camera can starve a quiet one: a camera with a frame waits at most one turn.
Frames that wait meanwhile sit in the camera's own bounded queue, which drops (and
counts) the oldest (crowd/capture.py).
"""
from __future__ import annotations

import bisect
from typing import Mapping


class RoundRobin:
    """Picks the cameras whose newest frame runs in this step, within a tile budget."""

    def __init__(self, budget: int = 24):
        if budget < 1:
            raise ValueError("the tile budget of a step must be at least 1")
        self.budget = budget
        self.last: str | None = None  # the camera served last: the next turn starts after it

    def pick(self, waiting: Mapping[str, int]) -> list[str]:
        """``waiting``: camera id -> tiles its frame costs, for cameras with a frame queued.
        Returns the ids to run now, in turn order: at least one, and never more tiles than
        the budget unless a single camera alone costs more."""
        ids = sorted(waiting)
        if not ids:
            return []
        start = bisect.bisect_right(ids, self.last) if self.last is not None else 0
        chosen, used = [], 0
        for cid in ids[start:] + ids[:start]:
            cost = max(1, int(waiting[cid]))
            # Strictly in turn: a camera that does not fit waits at the head of the next
            # step rather than being overtaken by smaller ones behind it.
            if chosen and used + cost > self.budget:
                break
            chosen.append(cid)
            used += cost
        self.last = chosen[-1]
        return chosen
