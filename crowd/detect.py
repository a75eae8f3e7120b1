"""Person detection with sliced (tiled) inference.

People far from a surveillance camera are small, and yolo11n-pose misses most of them
when a whole 768x576 frame is shrunk to 640 px. Cutting the frame into overlapping tiles
and letterboxing each into the model's input enlarges them instead. Boxes are mapped back
to frame coordinates and merged across tiles: a person on a tile border is seen by two
tiles (often cut off by one), so boxes from *different* tiles that overlap strongly
(IoU, or intersection over the smaller box for a cut-off half) become one box, their union.
Tiles of every frame in a call (several cameras) go through one engine, which runs them
concurrently (crowd/engine.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

EMPTY = np.zeros((0, 6), dtype=np.float32)  # x1, y1, x2, y2, conf, tile


@dataclass(frozen=True)
class TilePlan:
    """How one camera's frames are sliced: a rows x cols grid with a fractional overlap,
    plus optionally the whole frame as one more tile (for people close to the camera)."""
    rows: int = 2
    cols: int = 2
    overlap: float = 0.2
    full_frame: bool = False

    def __post_init__(self):
        if not (1 <= self.rows <= 6 and 1 <= self.cols <= 6):
            raise ValueError("tile rows and cols must be 1-6")
        if not (0.0 <= self.overlap < 0.5):
            raise ValueError("tile overlap must be in [0, 0.5)")

    @property
    def tiles_per_frame(self) -> int:
        return self.rows * self.cols + (1 if self.full_frame and self.rows * self.cols > 1 else 0)


def tile_windows(width: int, height: int, plan: TilePlan) -> list[tuple[int, int, int, int]]:
    """Pixel windows (x0, y0, x1, y1) covering the frame with the plan's overlap."""
    def spans(length: int, n: int) -> list[tuple[int, int]]:
        if n == 1:
            return [(0, length)]
        size = length / (n - (n - 1) * plan.overlap)
        step = size * (1 - plan.overlap)
        out = []
        for i in range(n):
            a = int(round(i * step))
            b = length if i == n - 1 else int(round(i * step + size))
            out.append((a, min(b, length)))
        return out
    wins = [(x0, y0, x1, y1) for (y0, y1) in spans(height, plan.rows)
            for (x0, x1) in spans(width, plan.cols)]
    if plan.full_frame and len(wins) > 1:
        wins.append((0, 0, width, height))
    return wins


def _pairwise(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IoU and intersection-over-smaller between every box of a and every box of b."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    smaller = np.minimum(area_a[:, None], area_b[None, :])
    return inter / np.maximum(union, 1e-6), inter / np.maximum(smaller, 1e-6)


def _axis_iou(a0, a1, b0, b1):
    inter = np.clip(np.minimum(a1[:, None], b1[None, :]) - np.maximum(a0[:, None], b0[None, :]),
                    0, None)
    union = (a1 - a0)[:, None] + (b1 - b0)[None, :] - inter
    return inter / np.maximum(union, 1e-6)


def cut_flags(boxes: np.ndarray, windows, width: int, height: int, tol: float = 3.0):
    """Per box, whether it touches an inner border of its tile (the person continues in
    the neighbouring tile): column 0 for a top/bottom border, column 1 for left/right.
    Borders of the frame itself do not count."""
    flags = np.zeros((len(boxes), 2), dtype=bool)
    for i, b in enumerate(boxes):
        x0, y0, x1, y1 = windows[int(b[5])]
        flags[i, 0] = (y0 > 0 and b[1] - y0 <= tol) or (y1 < height and y1 - b[3] <= tol)
        flags[i, 1] = (x0 > 0 and b[0] - x0 <= tol) or (x1 < width and x1 - b[2] <= tol)
    return flags


def merge_tiles(boxes: np.ndarray, cut: np.ndarray | None = None, iou_thr: float = 0.45,
                ios_thr: float = 0.7, axis_thr: float = 0.5) -> np.ndarray:
    """Greedy cross-tile merge of (N, 6) rows x1, y1, x2, y2, conf, tile_index.

    The most confident box absorbs lower ones from *other* tiles that are the same person:
    IoU >= iou_thr, intersection-over-smaller >= ios_thr (a part inside the whole), or,
    when either box is cut by a tile border (``cut``, from ``cut_flags``), boxes that
    intersect and line up across that border (IoU along the border >= axis_thr: the upper
    and lower halves of one person). It
    grows to their union, so a person cut by a border is whole again. Boxes of the same
    tile are left alone: the model's NMS separated them, and two people one behind the
    other must stay two.
    """
    if len(boxes) == 0:
        return EMPTY.copy()
    order = np.argsort(-boxes[:, 4], kind="stable")
    boxes = boxes[order].astype(np.float32, copy=True)
    cut = np.zeros((len(boxes), 2), dtype=bool) if cut is None else np.asarray(cut)[order]
    iou, ios = _pairwise(boxes, boxes)
    x_iou = _axis_iou(boxes[:, 0], boxes[:, 2], boxes[:, 0], boxes[:, 2])
    y_iou = _axis_iou(boxes[:, 1], boxes[:, 3], boxes[:, 1], boxes[:, 3])
    # Halves split by a top/bottom border line up in x; by a left/right border, in y.
    # (Only in that direction: two people side by side line up in y too.)
    cut_tb = cut[:, 0][:, None] | cut[:, 0][None, :]
    cut_lr = cut[:, 1][:, None] | cut[:, 1][None, :]
    lined_up = (iou > 0) & ((cut_tb & (x_iou >= axis_thr)) | (cut_lr & (y_iou >= axis_thr)))
    same = (iou >= iou_thr) | (ios >= ios_thr) | lined_up
    alive = np.ones(len(boxes), dtype=bool)
    kept = []
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        group = alive & (boxes[:, 5] != boxes[i, 5]) & same[i]
        group[i] = False
        merged = boxes[i].copy()
        if group.any():
            members = boxes[group]
            merged[0] = min(merged[0], members[:, 0].min())
            merged[1] = min(merged[1], members[:, 1].min())
            merged[2] = max(merged[2], members[:, 2].max())
            merged[3] = max(merged[3], members[:, 3].max())
            alive[group] = False
        alive[i] = False
        kept.append(merged)
    return np.stack(kept)


class TileGate:
    """Chooses which tiles of a camera's frame are worth running the model on (Frigate's
    idea: detect only where something moves). A tile runs when it shows motion against the
    previous frame, when a tracked person is in it (so people standing still are kept), or
    when it has not run for ``refresh`` frames (so nobody is missed for long). Pure numpy and
    OpenCV on a downscaled grey frame: about a millisecond a frame."""

    def __init__(self, refresh: int = 10, scale: int = 4, threshold: int = 18,
                 min_fraction: float = 0.002):
        self.refresh = refresh
        self.scale = scale
        self.threshold = threshold
        self.min_fraction = min_fraction
        self.prev = None
        self.age: list[int] = []

    def select(self, frame: np.ndarray, windows, track_boxes=()) -> list[bool]:
        import cv2
        h, w = frame.shape[:2]
        small = cv2.cvtColor(cv2.resize(frame, (w // self.scale, h // self.scale),
                                        interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        small = cv2.GaussianBlur(small, (5, 5), 0)
        if self.prev is None or self.prev.shape != small.shape or len(self.age) != len(windows):
            self.prev, self.age = small, [0] * len(windows)
            return [True] * len(windows)
        moving = cv2.absdiff(small, self.prev) > self.threshold
        self.prev = small
        active = []
        for i, (x0, y0, x1, y1) in enumerate(windows):
            s = self.scale
            patch = moving[y0 // s:y1 // s, x0 // s:x1 // s]
            run = patch.size and patch.mean() >= self.min_fraction
            if not run:
                run = any(bx1 > x0 and bx0 < x1 and by1 > y0 and by0 < y1
                          for bx0, by0, bx1, by1 in track_boxes)
            if not run and self.age[i] + 1 >= self.refresh:
                run = True
            self.age[i] = 0 if run else self.age[i] + 1
            active.append(bool(run))
        return active


class Detector:
    """Runs a person-detection engine (``crowd.engine``) on tiles of one or many frames at
    once: every tile of every frame in a call shares the engine's request queue."""

    def __init__(self, engine, *, min_box_px: int = 6):
        self.engine = engine
        self.min_box_px = min_box_px
        self.last_tiles = [0, 0]

    def detect_many(self, frames: Sequence[np.ndarray], plans: Sequence[TilePlan],
                    gates: Sequence | None = None,
                    tracks: Sequence | None = None) -> list[np.ndarray]:
        """People in each frame as (N, 5) arrays x1, y1, x2, y2, conf in frame pixels.
        With ``gates`` (a TileGate per frame, or None), only the tiles each gate selects
        run; ``tracks`` gives each frame's current track boxes for the gate."""
        crops, owners, layout = [], [], []
        self.last_tiles = [0, 0]  # tiles run, tiles available (for the bench and logs)
        for fi, (frame, plan) in enumerate(zip(frames, plans)):
            h, w = frame.shape[:2]
            windows = tile_windows(w, h, plan)
            layout.append((windows, w, h))
            gate = gates[fi] if gates is not None else None
            active = gate.select(frame, windows, tracks[fi] if tracks else ()) if gate \
                else [True] * len(windows)
            self.last_tiles[0] += sum(active)
            self.last_tiles[1] += len(windows)
            for ti, (x0, y0, x1, y1) in enumerate(windows):
                if not active[ti]:
                    continue
                crops.append(frame[y0:y1, x0:x1])
                owners.append((fi, ti, x0, y0))
        per_frame: list[list[np.ndarray]] = [[] for _ in frames]
        for (fi, ti, x0, y0), found in zip(owners, self.engine.infer(crops) if crops else []):
            if len(found) == 0:
                continue
            rows = np.empty((len(found), 6), dtype=np.float32)
            rows[:, :5] = found[:, :5]
            rows[:, [0, 2]] += x0
            rows[:, [1, 3]] += y0
            rows[:, 5] = ti
            per_frame[fi].append(rows)
        out = []
        for rows, (windows, w, h) in zip(per_frame, layout):
            merged = EMPTY.copy()
            if rows:
                found = np.vstack(rows)
                merged = merge_tiles(found, cut_flags(found, windows, w, h))
            if len(merged):
                wh = merged[:, 2:4] - merged[:, 0:2]
                merged = merged[(wh[:, 0] >= self.min_box_px) & (wh[:, 1] >= self.min_box_px)]
            out.append(merged[:, :5])
        return out

    def detect(self, frame: np.ndarray, plan: TilePlan) -> np.ndarray:
        return self.detect_many([frame], [plan])[0]
