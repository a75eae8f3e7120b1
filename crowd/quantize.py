"""Post-training INT8 quantisation of the person IR with NNCF, on the sample clip.

Calibration data are tiles cut exactly as the worker cuts them (the demo camera's 2x3 grid
with 20 % overlap, plus the whole frame for cameras with ``full_frame``), letterboxed and
scaled as ``crowd.engine`` feeds the model, from frames of ``data/crowd/vtest-clip.mp4``
midway between the benchmark's hand-counted frames: each is at least 16 frames (1.6 s)
away from any labelled frame and outside every labelled frame's lead-in, so the INT8
error the benchmark reports is measured on frames the calibration never saw
(tests/crowd/test_models.py checks this against bench/labels).

NNCF (Intel's compression framework for OpenVINO) is the library OpenVINO documents for
post-training quantisation; we call it the way ultralytics' own INT8 export does: the
mixed preset (symmetric weights, asymmetric activations) and the detection head's
box decoding (its sigmoid, distribution focal loss and coordinate arithmetic) left in
floating point, so the boxes keep their pixel precision.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "data" / "crowd" / "vtest-clip.mp4"
# Midpoints between consecutive labelled frames of bench/labels/vtest_counts.json.
CALIBRATION_FRAMES = (26, 60, 94, 127, 161, 195, 228, 262, 296, 329, 363, 397, 431, 464,
                      498, 532, 565, 599, 633, 666, 700, 734, 768)
CALIBRATION_GRID = (2, 3, 0.2)  # rows, cols, overlap: the demo camera's tiling


def calibration_stamp() -> dict:
    """What the INT8 model depends on besides the weights (a change rebuilds it)."""
    return {"clip_sha256": hashlib.sha256(CLIP.read_bytes()).hexdigest(),
            "frames": list(CALIBRATION_FRAMES), "grid": list(CALIBRATION_GRID),
            "letterbox": "centred"}


def calibration_tiles(imgsz) -> list[np.ndarray]:
    """(1, 3, H, W) float RGB tiles in [0, 1], as the engine's compiled preprocessing makes."""
    from .capture import read_frames
    from .detect import TilePlan, tile_windows
    from .engine import PAD_VALUE, letterbox_into
    frames = read_frames(CLIP, CALIBRATION_FRAMES)
    if len(frames) != len(CALIBRATION_FRAMES):
        raise RuntimeError(f"{CLIP} gave {len(frames)} of {len(CALIBRATION_FRAMES)} "
                           "calibration frames")
    rows, cols, overlap = CALIBRATION_GRID
    plan = TilePlan(rows, cols, overlap, full_frame=True)
    buf = np.full((*imgsz, 3), PAD_VALUE, dtype=np.uint8)
    tiles = []
    for index in CALIBRATION_FRAMES:
        frame = frames[index]
        h, w = frame.shape[:2]
        for x0, y0, x1, y1 in tile_windows(w, h, plan):
            letterbox_into(buf, frame[y0:y1, x0:x1])
            tiles.append((buf[:, :, ::-1].transpose(2, 0, 1)[None] / 255.0).astype(np.float32))
    return tiles


def head_ops(model) -> list[str]:
    """Names of the ops that decode boxes in the detection head (kept in float)."""
    ops = model.get_ordered_ops()
    sigmoids = [op.get_friendly_name() for op in ops if op.get_type_name() == "Sigmoid"]
    if not sigmoids:
        raise RuntimeError("no Sigmoid in the model: not a YOLO detection head")
    head = sigmoids[-1].split("/", 1)[0]
    return [op.get_friendly_name() for op in ops if op.get_type_name() == "Sigmoid"
            or op.get_friendly_name().startswith((f"{head}/", f"{head}.dfl"))]


def quantize(model, tiles: list[np.ndarray]):
    """The INT8 model (OpenVINO ``Model``); deterministic for the same model and tiles."""
    import nncf
    return nncf.quantize(model, nncf.Dataset(tiles), preset=nncf.QuantizationPreset.MIXED,
                         subset_size=len(tiles),
                         ignored_scope=nncf.IgnoredScope(names=head_ops(model)))
