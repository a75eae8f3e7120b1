"""Counting and alert rules with synthetic tracks and times: no model, no database."""
from __future__ import annotations

import pytest

from crowd import alert_levels
from crowd.count import (Area, Counter, Line, area_step, line_step, point_in_polygon,
                         polygon_area)
from crowd.detect import TilePlan, merge_tiles, tile_windows

import numpy as np

SQUARE = ((100.0, 100.0), (300.0, 100.0), (300.0, 300.0), (100.0, 300.0))
# A vertical line at x=200 drawn bottom-to-top: "in" is moving left -> right on the image.
VLINE = Line("v", (200.0, 400.0), (200.0, 0.0))


def box_at(x, y, w=20, h=60):
    """A box whose bottom-centre (the feet) is at (x, y)."""
    return (x - w / 2, y - h, x + w / 2, y)


def walk(counter, tid, xs, y=200):
    out = []
    for x in xs:
        out.append(counter.update([(tid, *box_at(x, y))]))
    return out


def test_line_step_counts_only_a_real_crossing_of_the_segment():
    line = ((200.0, 400.0), (200.0, 0.0))
    anchor, d = line_step(None, (150, 200), line, margin=4)
    assert d is None and anchor == (150, 200)
    anchor, d = line_step(anchor, (198, 200), line, margin=4)   # inside the band: nothing
    assert d is None and anchor == (150, 200)
    anchor, d = line_step(anchor, (260, 200), line, margin=4)
    assert d == "in"
    anchor, d = line_step(anchor, (140, 200), line, margin=4)
    assert d == "out"
    # Passing beyond the end of the drawn segment is not a crossing.
    anchor, d = line_step((150, 500), (260, 500), line, margin=4)
    assert d is None


def test_walking_across_counts_in_then_out_once_each():
    c = Counter(lines=[VLINE])
    walk(c, 1, range(100, 320, 10))
    assert c.totals["v"] == {"in": 1, "out": 0}
    walk(c, 1, range(320, 90, -10))
    assert c.totals["v"] == {"in": 1, "out": 1}


def test_jitter_on_the_line_is_not_a_crossing():
    c = Counter(lines=[VLINE], margin=5)
    walk(c, 7, [150, 197, 203, 198, 202, 199, 201, 196, 204])
    assert c.totals["v"] == {"in": 0, "out": 0}


def test_id_switch_at_the_line_is_counted_once():
    c = Counter(lines=[VLINE], reid_px=40, reid_frames=10)
    walk(c, 1, [120, 140, 160, 180, 230])          # id 1 crosses: counted
    assert c.totals["v"]["in"] == 1
    c.update([])                                    # the tracker loses it for a frame
    # ... and renames the same person 2, a few pixels back on the first side (box jitter),
    # who then walks on across the line again.
    walk(c, 2, [190, 215, 240, 260])
    assert c.totals["v"] == {"in": 1, "out": 0}
    # A genuinely different person far away crossing later is counted.
    walk(c, 3, [120, 150, 180, 230, 260], y=330)
    assert c.totals["v"] == {"in": 2, "out": 0}


def test_area_inertia_needs_consecutive_frames():
    state = (False, 0)
    for _ in range(2):
        state = area_step(True, state, inertia=3)
    assert state[0] is False
    state = area_step(True, state, inertia=3)
    assert state[0] is True
    state = area_step(False, state, inertia=3)   # one frame outside: still inside
    assert state[0] is True


def test_zone_occupancy_by_bottom_centre_with_inertia():
    c = Counter(areas=[Area("sq", SQUARE)], inertia=3)
    # Head inside the square but feet below it: outside.
    counts = [c.update([(1, *box_at(200, 350, h=150))]) for _ in range(5)]
    assert counts[-1].areas["sq"] == 0
    counts = [c.update([(2, *box_at(200, 200))]) for _ in range(3)]
    assert [k.areas["sq"] for k in counts] == [0, 0, 1]


def test_track_state_is_bounded_over_100000_ids():
    c = Counter(areas=[Area("sq", SQUARE)], lines=[VLINE], max_tracks=500, max_age=30)
    for tid in range(100_000):
        x = 100 + (tid % 200)
        c.update([(tid, *box_at(x, 200))])
    assert len(c.tracks) <= 500
    assert len(c.recent_crossings) <= c.recent_crossings.maxlen


def test_retired_tracks_are_pruned():
    c = Counter(areas=[Area("sq", SQUARE)], max_age=5)
    c.update([(1, *box_at(200, 200)), (2, *box_at(150, 150))])
    for _ in range(6):
        c.update([])
    assert c.tracks == {}


def test_geometry_helpers():
    assert point_in_polygon((150, 150), SQUARE)
    assert not point_in_polygon((50, 150), SQUARE)
    assert polygon_area(SQUARE) == 40000
    assert polygon_area([(0, 0), (10, 0), (20, 0)]) == 0


TH = alert_levels.Thresholds(notice=0.7, warning=0.8, critical=1.0, hysteresis=0.05, debounce_s=10)


def test_raw_levels():
    assert [alert_levels.raw_level(r, TH) for r in (None, 0.5, 0.7, 0.85, 1.2)] == \
        ["unknown", "normal", "notice", "warning", "critical"]


def test_debounce_requires_the_level_to_hold():
    s = alert_levels.LevelState()
    s = alert_levels.step(s, 0.85, 0, TH)
    assert s.level == "normal" and s.pending == "warning"
    s = alert_levels.step(s, 0.5, 5, TH)        # dips back: the pending change is forgotten
    assert s.level == "normal" and s.pending is None
    s = alert_levels.step(s, 0.85, 6, TH)
    s = alert_levels.step(s, 0.86, 15, TH)
    assert s.level == "normal"
    s = alert_levels.step(s, 0.86, 16, TH)
    assert s.level == "warning"


def test_hysteresis_clears_only_below_the_lower_mark():
    s = alert_levels.LevelState("warning")
    s = alert_levels.step(s, 0.77, 0, TH)        # below 0.8 but above 0.75: still warning
    s = alert_levels.step(s, 0.77, 100, TH)
    assert s.level == "warning" and s.pending is None
    s = alert_levels.step(s, 0.74, 200, TH)
    s = alert_levels.step(s, 0.74, 211, TH)
    assert s.level == "notice"
    s = alert_levels.step(s, 0.3, 300, TH)
    s = alert_levels.step(s, 0.3, 311, TH)
    assert s.level == "normal"


def test_unknown_occupancy_neither_raises_nor_clears():
    s = alert_levels.LevelState("critical")
    assert alert_levels.step(s, None, 1000, TH) == s


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError):
        alert_levels.Thresholds(notice=0.9, warning=0.8)


def test_tiles_cover_the_frame_with_overlap():
    wins = tile_windows(768, 576, TilePlan(2, 2, 0.2))
    assert len(wins) == 4
    assert wins[0][:2] == (0, 0) and wins[-1][2:] == (768, 576)
    assert wins[1][0] < wins[0][2]        # columns overlap
    assert len(tile_windows(768, 576, TilePlan(2, 2, 0.2, full_frame=True))) == 5


def test_cross_tile_merge_joins_a_person_cut_by_a_tile_border():
    boxes = np.array([
        [400, 100, 440, 200, 0.9, 0],     # whole, seen by tile 0
        [405, 100, 440, 160, 0.6, 1],     # upper half of the same person, cut by tile 1
        [600, 100, 640, 200, 0.8, 1],     # someone else
        [402, 110, 442, 205, 0.5, 0],     # same tile overlap: left to the model's NMS
    ], dtype=np.float32)
    merged = merge_tiles(boxes)
    assert len(merged) == 3
    assert merged[0][:4].tolist() == [400, 100, 440, 200]


def test_people_in_view_counts_weak_boxes_only_when_they_continue_a_track():
    from crowd.count import people_in_view
    scores = [0.9, 0.3, 0.18, 0.12]                       # sure from 0.2 up
    assert people_in_view(scores) == 2                    # only the sure ones
    assert people_in_view(scores, tracked={2}) == 3       # a half-hidden, tracked person
    assert people_in_view(scores, tracked={0, 1, 2, 3}) == 4
    assert people_in_view([], tracked={0}) == 0
