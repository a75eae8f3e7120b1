"""Counting rules: pure functions over plain tuples, and a bounded per-track state.

No model, no drawing, no I/O: the rules are tested with synthetic tracks.

* A person's position is the bottom-centre of the box (where the feet are).
* Areas: a track is inside an area after ``inertia`` consecutive frames inside it and
  outside again after ``inertia`` consecutive frames outside (Frigate's zone inertia), so a
  jittering box on the boundary does not flicker the count.
* Lines: a crossing counts when the feet move from one side of a counting segment to the
  other, each side taken beyond a ``margin`` band around the line (jitter on the line is
  not a crossing). Direction: "in" is from the left of a->b to its right, as drawn on the
  image (y grows downwards), "out" the reverse.
* Id switches: when a new track id appears close to where a track vanished a moment ago,
  it inherits that track's state, so a person is counted once even if the tracker renames
  them. Crossings are also de-duplicated (same line and direction, nearby, within a few
  frames).
* Bounded: per-track state is dropped when the tracker retires an id (not seen for
  ``max_age`` frames), and the table never holds more than ``max_tracks`` ids.
"""
from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Collection, Iterable, Sequence

Point = tuple[float, float]
Box = tuple[float, float, float, float]


def bottom_centre(box: Box) -> Point:
    x1, _y1, x2, y2 = box
    return ((x1 + x2) / 2.0, y2)


# A box scoring this much is a person on its own: ByteTrack's first-stage threshold as
# crowd/track.py sets it (tiles find small people at modest scores).
SURE_SCORE = 0.2


def people_in_view(scores: Sequence[float], tracked: Collection[int] = (),
                   sure: float = SURE_SCORE) -> int:
    """People in one frame: detections scoring at least ``sure``, plus weaker ones (the
    detector keeps boxes down to ByteTrack's low threshold, 0.1) whose index is in
    ``tracked``, i.e. that continue a track in ByteTrack's second stage. A person half
    hidden behind a sign scores low, but stands where a tracked person stood a moment ago."""
    return sum(1 for i, s in enumerate(scores) if s >= sure or i in tracked)


def cross(a: Point, b: Point, p: Point) -> float:
    """Twice the signed area of (a, b, p): > 0 when p is right of a->b on an image."""
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])


def signed_distance(p: Point, line: tuple[Point, Point]) -> float:
    a, b = line
    length = ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5
    return cross(a, b, p) / length if length else 0.0


def segments_intersect(p0: Point, p1: Point, a: Point, b: Point) -> bool:
    d1, d2 = cross(a, b, p0), cross(a, b, p1)
    d3, d4 = cross(p0, p1, a), cross(p0, p1, b)
    return (d1 * d2 <= 0) and (d3 * d4 <= 0) and not (d1 == d2 == 0)


def point_in_polygon(p: Point, polygon: Sequence[Point]) -> bool:
    """Even-odd ray casting; points on an edge may go either way (inertia smooths it)."""
    x, y = p
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            xi = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < xi:
                inside = not inside
    return inside


def polygon_area(polygon: Sequence[Point]) -> float:
    s = 0.0
    for i in range(len(polygon)):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % len(polygon)]
        s += x1 * y2 - x2 * y1
    return abs(s) / 2.0


def side_of(p: Point, line: tuple[Point, Point], margin: float) -> int:
    """+1 right of the line, -1 left, 0 within the margin band."""
    d = signed_distance(p, line)
    if d > margin:
        return 1
    if d < -margin:
        return -1
    return 0


def line_step(anchor: Point | None, p: Point, line: tuple[Point, Point],
              margin: float) -> tuple[Point | None, str | None]:
    """One frame of the line rule. ``anchor`` is the track's last position clearly on one
    side (or None). Returns the new anchor and "in", "out" or None."""
    side = side_of(p, line, margin)
    if side == 0:
        return anchor, None
    if anchor is None:
        return p, None
    before = side_of(anchor, line, margin)
    if before == side:
        return p, None
    a, b = line
    # Only a crossing of the drawn segment counts, not of its infinite extension.
    if not segments_intersect(anchor, p, a, b):
        return p, None
    return p, ("in" if side > 0 else "out")


def area_step(inside_now: bool, state: tuple[bool, int], inertia: int) -> tuple[bool, int]:
    """One frame of zone inertia. ``state`` is (inside, streak of frames disagreeing)."""
    inside, streak = state
    if inside_now == inside:
        return inside, 0
    streak += 1
    if streak >= inertia:
        return inside_now, 0
    return inside, streak


@dataclass(frozen=True)
class Area:
    name: str
    polygon: tuple[Point, ...]


@dataclass(frozen=True)
class Line:
    name: str
    a: Point
    b: Point


@dataclass
class TrackState:
    last_point: Point
    last_frame: int
    anchors: dict = field(default_factory=dict)  # line name -> anchor point
    crossed: dict = field(default_factory=dict)  # line name -> frame of its last crossing
    areas: dict = field(default_factory=dict)    # area name -> (inside, streak)


@dataclass
class FrameCounts:
    areas: dict          # area name -> people inside now
    crossings: list      # [(line name, "in"|"out")]
    people: int          # tracks seen in this frame


class Counter:
    """Per-camera counting state over tracker output; bounded and pruned."""

    def __init__(self, areas: Iterable[Area] = (), lines: Iterable[Line] = (), *,
                 inertia: int = 3, margin: float = 4.0, max_age: int = 30,
                 max_tracks: int = 2000, reid_px: float = 40.0, reid_frames: int = 15,
                 dedupe_px: float = 30.0, dedupe_frames: int = 10, hold_frames: int = 2):
        self.areas = list(areas)
        self.lines = list(lines)
        self.inertia = max(1, int(inertia))
        self.margin, self.max_age, self.max_tracks = margin, max_age, max_tracks
        # Pairs of (distance in pixels, frames): how near and how soon a new track id is
        # taken for an old one (re-identification) or for a duplicate of a live one.
        self.reid_px, self.reid_frames = reid_px, reid_frames
        self.dedupe_px, self.dedupe_frames = dedupe_px, dedupe_frames
        self.hold_frames = hold_frames
        self.tracks: OrderedDict[int, TrackState] = OrderedDict()  # least recently seen first
        self.recent_crossings: deque = deque(maxlen=64)
        self.totals = {ln.name: {"in": 0, "out": 0} for ln in self.lines}
        self.frame = 0

    def _adopt(self, p: Point, seen_now: set) -> TrackState | None:
        """State of a vanished track near ``p`` (an id switch), removed from the table."""
        best, best_d = None, self.reid_px
        for tid, st in self.tracks.items():
            if tid in seen_now or self.frame - st.last_frame > self.reid_frames:
                continue
            if st.last_frame >= self.frame:
                continue
            d = ((st.last_point[0] - p[0]) ** 2 + (st.last_point[1] - p[1]) ** 2) ** 0.5
            if d <= best_d:
                best, best_d = tid, d
        return self.tracks.pop(best) if best is not None else None

    def _duplicate(self, line: str, direction: str, p: Point) -> bool:
        for (ln, dr, q, f) in self.recent_crossings:
            if ln == line and dr == direction and self.frame - f <= self.dedupe_frames and \
                    ((q[0] - p[0]) ** 2 + (q[1] - p[1]) ** 2) ** 0.5 <= self.dedupe_px:
                return True
        return False

    def update(self, tracks: Iterable[tuple[int, float, float, float, float]]) -> FrameCounts:
        """Feed one frame of (track_id, x1, y1, x2, y2); returns counts for this frame."""
        self.frame += 1
        tracks = list(tracks)
        seen_now = {int(t[0]) for t in tracks}
        crossings = []
        for tid, x1, y1, x2, y2 in tracks:
            tid = int(tid)
            p = bottom_centre((x1, y1, x2, y2))
            st = self.tracks.pop(tid, None)
            renamed = False
            if st is None:
                adopted = self._adopt(p, seen_now)
                renamed = adopted is not None
                st = adopted or TrackState(p, self.frame)
            for line in self.lines:
                anchor, direction = line_step(st.anchors.get(line.name), p, (line.a, line.b),
                                              self.margin)
                st.anchors[line.name] = anchor
                if direction and renamed and \
                        self.frame - st.crossed.get(line.name, -10**9) <= self.dedupe_frames:
                    # The renamed person had just crossed here: the new id's first box,
                    # jittered back over the line, is not a crossing back.
                    continue
                if direction and not self._duplicate(line.name, direction, p):
                    st.crossed[line.name] = self.frame
                    crossings.append((line.name, direction))
                    self.totals[line.name][direction] += 1
                    self.recent_crossings.append((line.name, direction, p, self.frame))
            for area in self.areas:
                st.areas[area.name] = area_step(point_in_polygon(p, area.polygon),
                                                st.areas.get(area.name, (False, 0)),
                                                self.inertia)
            st.last_point, st.last_frame = p, self.frame
            self.tracks[tid] = st  # re-inserted at the end: most recently seen
        self._prune()
        counts = {a.name: 0 for a in self.areas}
        for st in self.tracks.values():
            if self.frame - st.last_frame > self.hold_frames:
                continue
            for name, (inside, _streak) in st.areas.items():
                # A track the detector lost for a few frames keeps its place, so a
                # person hidden for a moment behind a sign is still counted.
                if inside and name in counts:
                    counts[name] += 1
        return FrameCounts(areas=counts, crossings=crossings, people=len(tracks))

    def _prune(self) -> None:
        while self.tracks:
            tid, st = next(iter(self.tracks.items()))
            if self.frame - st.last_frame > self.max_age or len(self.tracks) > self.max_tracks:
                self.tracks.popitem(last=False)
            else:
                break
