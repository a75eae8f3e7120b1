"""Person detection with sliced (tiled) inference.

People far from a surveillance camera are small, and yolo11n-pose misses most of them
when a whole 768x576 frame is shrunk to 640 px. Cutting the frame into overlapping tiles
and letterboxing each into the model's input enlarges them instead. Boxes are mapped back
to frame coordinates and merged across tiles: a person on a tile border is seen by two
tiles (often cut off by one), so boxes from *different* tiles that overlap strongly
(IoU, or intersection over the smaller box for a cut-off half) become one box, their union.
Tiles of every frame in a call (several cameras) go to the model as one batch.
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


def merge_tiles(boxes: np.ndarray, iou_thr: float = 0.45, ios_thr: float = 0.7) -> np.ndarray:
    """Greedy cross-tile merge of (N, 6) rows x1, y1, x2, y2, conf, tile_index.

    The most confident box absorbs lower ones from *other* tiles that overlap it by IoU
    >= iou_thr or intersection-over-smaller >= ios_thr; it grows to their union (a person
    cut by a tile border is whole again). Boxes of the same tile are left alone: the
    model's own NMS already separated them, and two people one behind the other must stay two.
    """
    if len(boxes) == 0:
        return EMPTY.copy()
    order = np.argsort(-boxes[:, 4], kind="stable")
    boxes = boxes[order].astype(np.float32, copy=True)
    iou, ios = _pairwise(boxes, boxes)
    alive = np.ones(len(boxes), dtype=bool)
    kept = []
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        group = alive & (boxes[:, 5] != boxes[i, 5]) & ((iou[i] >= iou_thr) | (ios[i] >= ios_thr))
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


class Detector:
    """Runs a ``ultralytics.YOLO`` person model on tiles of one or many frames at once."""

    def __init__(self, model, *, tile_imgsz=(480, 640), conf: float = 0.25, iou: float = 0.6,
                 min_box_px: int = 6):
        self.model = model
        self.tile_imgsz = tuple(tile_imgsz)
        self.conf = conf
        self.iou = iou
        self.min_box_px = min_box_px

    def detect_many(self, frames: Sequence[np.ndarray],
                    plans: Sequence[TilePlan]) -> list[np.ndarray]:
        """People in each frame as (N, 5) arrays x1, y1, x2, y2, conf in frame pixels."""
        crops, owners = [], []
        for fi, (frame, plan) in enumerate(zip(frames, plans)):
            h, w = frame.shape[:2]
            for ti, (x0, y0, x1, y1) in enumerate(tile_windows(w, h, plan)):
                crops.append(np.ascontiguousarray(frame[y0:y1, x0:x1]))
                owners.append((fi, ti, x0, y0))
        per_frame: list[list[np.ndarray]] = [[] for _ in frames]
        if crops:
            results = self.model.predict(crops, imgsz=list(self.tile_imgsz), conf=self.conf,
                                         iou=self.iou, classes=[0], verbose=False)
            for (fi, ti, x0, y0), res in zip(owners, results):
                b = res.boxes
                if b is None or len(b) == 0:
                    continue
                xyxy = b.xyxy.cpu().numpy().astype(np.float32)
                conf = b.conf.cpu().numpy().astype(np.float32)
                xyxy[:, [0, 2]] += x0
                xyxy[:, [1, 3]] += y0
                tile = np.full((len(conf), 1), ti, dtype=np.float32)
                per_frame[fi].append(np.hstack([xyxy, conf[:, None], tile]))
        out = []
        for rows in per_frame:
            merged = merge_tiles(np.vstack(rows)) if rows else EMPTY.copy()
            if len(merged):
                wh = merged[:, 2:4] - merged[:, 0:2]
                merged = merged[(wh[:, 0] >= self.min_box_px) & (wh[:, 1] >= self.min_box_px)]
            out.append(merged[:, :5])
        return out

    def detect(self, frame: np.ndarray, plan: TilePlan) -> np.ndarray:
        return self.detect_many([frame], [plan])[0]
