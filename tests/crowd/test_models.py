"""The detector's model files: the person IR without the keypoint branch, its INT8 build
(calibrated on clip frames the benchmark never scores), and the engine's letterbox and
box decoding."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crowd import models, quantize
from crowd.engine import decode, letterbox_into

ROOT = Path(__file__).resolve().parents[2]
LABELS = ROOT / "bench" / "labels" / "vtest_counts.json"


def test_calibration_frames_are_disjoint_from_the_labelled_ones():
    labelled = [int(k) for k in json.loads(LABELS.read_text())["counts"]]
    lead = 11   # the benches feed the 11 frames before each labelled one
    for c in quantize.CALIBRATION_FRAMES:
        assert all(abs(c - f) > lead for f in labelled), c
    assert len(set(quantize.CALIBRATION_FRAMES)) == len(quantize.CALIBRATION_FRAMES) >= 20


def test_letterbox_centres_the_crop_and_decode_maps_boxes_back():
    crop = np.zeros((320, 295, 3), np.uint8)
    crop[100:200, 50:80] = 255
    buf = np.zeros((480, 448, 3), np.uint8)
    scale, left, top = letterbox_into(buf, crop)
    assert scale == pytest.approx(1.5) and top == 0 and left in (2, 3)
    assert (buf[:, :left] == 114).all() and (buf[:, left + 443:] == 114).all()
    # Three anchors in model pixels: a person, the same person again (NMS removes it), and
    # a box under the score threshold.
    cx, cy = left + 65 * scale, 150 * scale
    raw = np.array([[cx, cx + 1, 10], [cy, cy, 10], [30 * scale, 30 * scale, 5],
                    [100 * scale, 100 * scale, 5], [0.9, 0.8, 0.05]], np.float32)
    boxes = decode(raw, (scale, left, top), crop.shape[:2], conf=0.1, iou=0.6)
    assert boxes.shape == (1, 5)
    assert boxes[0, :4] == pytest.approx([50, 100, 80, 200], abs=0.5)
    assert boxes[0, 4] == pytest.approx(0.9)
    assert decode(raw[:, 2:], (scale, left, top), crop.shape[:2], 0.1, 0.6).shape == (0, 5)


@pytest.mark.model
def test_prepare_builds_each_model_once():
    models.prepare()
    again = models.prepare()
    assert again.count("cached") == 3, again
    for precision in models.PRECISIONS:
        assert models.person_is_current(precision=precision)


@pytest.mark.model
def test_the_person_ir_has_no_keypoint_branch():
    import openvino as ov
    core = ov.Core()
    pose = core.read_model(str(next(models.export_dir().glob("*.xml"))))
    person = core.read_model(str(models.person_xml(precision="fp32")))
    assert list(pose.outputs[0].get_shape())[:2] == [1, 56]      # boxes, score, 17x3 keypoints
    assert list(person.outputs[0].get_shape())[:2] == [1, 5]     # boxes, score
    assert len(person.get_ordered_ops()) < len(pose.get_ordered_ops())
    with pytest.raises(models.ModelError):
        models.cut_keypoints(person)                              # not a pose head any more


@pytest.mark.model
def test_int8_counts_like_fp32_on_clip_frames():
    from crowd.capture import read_frames
    from crowd.detect import Detector, TilePlan
    frames = read_frames(ROOT / "data" / "crowd" / "vtest-clip.mp4", [144, 245])  # 9 and 7
    plan = TilePlan(2, 3, 0.2)
    counts = {}
    for precision in models.PRECISIONS:
        det = Detector(models.load_engine("openvino", precision))
        found = det.detect_many(list(frames.values()), [plan, plan])
        counts[precision] = [int((b[:, 4] >= 0.25).sum()) for b in found]
    assert all(abs(a - b) <= 1 for a, b in zip(counts["int8"], counts["fp32"])), counts
    assert abs(counts["int8"][0] - 9) <= 2 and abs(counts["int8"][1] - 7) <= 2, counts
