"""Inference engines: person boxes for a list of image crops (tiles), one shared model.

``OpenVINOEngine`` runs our person IR (``crowd.models``: yolo11n-pose without its keypoint
branch, FP32 or INT8) straight through OpenVINO instead of ``ultralytics.YOLO``:

* The image conversion (uint8 BGR, HWC -> float RGB, CHW, /255) is compiled into the model
  (OpenVINO's PrePostProcessor), so Python only letterboxes each crop into a reused buffer;
  converting six float tiles in numpy cost about as much as running one of them.
* OpenVINO's throughput mode with an ``AsyncInferQueue``: several infer requests (one per
  stream, two on two cores) run at once while Python prepares the next crop. Crops of every
  camera in a worker step share the queue, so one model serves many cameras.
* Decoding keeps the five box rows of the output (cx, cy, w, h, person score) and runs
  OpenCV's NMS, the same thresholds ultralytics applies.

``UltralyticsEngine`` wraps ``ultralytics.YOLO.predict`` (the ``.pt`` weights on PyTorch):
the slower path the worker's ``--backend pytorch`` keeps for comparison.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

EMPTY5 = np.zeros((0, 5), dtype=np.float32)  # x1, y1, x2, y2, conf
PAD_VALUE = 114  # ultralytics' letterbox grey
# Boxes are kept down to ByteTrack's low threshold: below 0.2 a box counts as a person only
# when it continues a track (crowd.count.people_in_view).
LOW_SCORE = 0.1


class Engine(Protocol):
    """What the detector needs: boxes in each crop's own pixels."""
    def infer(self, crops: Sequence[np.ndarray]) -> list[np.ndarray]: ...


def letterbox_into(buf: np.ndarray, crop: np.ndarray) -> tuple[float, int, int]:
    """Resize ``crop`` to fit ``buf`` (H, W, 3) keeping its aspect, centred on grey padding
    as ultralytics' LetterBox does (the model's scores shift by a few points when the
    picture moves by a few pixels against its stride grid; centred matches the reference
    pipeline). Returns (scale, left, top): model pixels per crop pixel and the padding."""
    import cv2
    H, W = buf.shape[:2]
    h, w = crop.shape[:2]
    scale = min(H / h, W / w)
    nw, nh = max(1, min(W, round(w * scale))), max(1, min(H, round(h * scale)))
    left, top = round((W - nw) / 2 - 0.1), round((H - nh) / 2 - 0.1)
    if nw < W or nh < H:
        buf[:] = PAD_VALUE
    cv2.resize(crop, (nw, nh), dst=buf[top:top + nh, left:left + nw],
               interpolation=cv2.INTER_LINEAR)
    return scale, left, top


def decode(raw: np.ndarray, placed: tuple[float, int, int], crop_hw: tuple[int, int],
           conf: float, iou: float) -> np.ndarray:
    """(5, anchors) rows cx, cy, w, h, score in model pixels -> NMS'd (N, 5) boxes in crop
    pixels, clipped to the crop; ``placed`` is what ``letterbox_into`` returned."""
    import cv2
    keep = raw[4] >= conf
    if not keep.any():
        return EMPTY5.copy()
    cx, cy, w, h, score = raw[:, keep]
    xywh = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)
    idx = cv2.dnn.NMSBoxes(xywh.tolist(), score.tolist(), conf, iou)
    idx = np.asarray(idx, dtype=np.int64).reshape(-1)
    boxes = np.empty((len(idx), 5), dtype=np.float32)
    boxes[:, 0:2] = xywh[idx, 0:2]
    boxes[:, 2:4] = xywh[idx, 0:2] + xywh[idx, 2:4]
    scale, left, top = placed
    boxes[:, [0, 2]] -= left
    boxes[:, [1, 3]] -= top
    boxes[:, :4] /= scale
    ch, cw = crop_hw
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, cw)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, ch)
    boxes[:, 4] = score[idx]
    return boxes


class OpenVINOEngine:
    """Our person IR on OpenVINO's CPU plugin, async requests in throughput mode."""

    def __init__(self, xml: str | Path, *, conf: float = LOW_SCORE, iou: float = 0.6,
                 requests: int = 0, precision_hint: str = "f32", hint: str = "THROUGHPUT"):
        import openvino as ov
        from openvino.preprocess import ColorFormat, PrePostProcessor
        self.conf, self.iou = conf, iou
        core = ov.Core()
        model = core.read_model(str(xml))
        _n, _c, h, w = model.inputs[0].get_shape()
        self.input_hw = (int(h), int(w))
        ppp = PrePostProcessor(model)
        ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")) \
            .set_color_format(ColorFormat.BGR)
        ppp.input().model().set_layout(ov.Layout("NCHW"))
        ppp.input().preprocess().convert_element_type(ov.Type.f32) \
            .convert_color(ColorFormat.RGB).scale(255.0)
        # f32 for the FP32 model: this CPU's default hint would otherwise run it in bf16,
        # and the INT8 decision compares against true FP32.
        config = {"PERFORMANCE_HINT": hint, "INFERENCE_PRECISION_HINT": precision_hint}
        self.compiled = core.compile_model(ppp.build(), "CPU", config)
        n = requests or int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self.requests = max(1, n)
        self.queue = ov.AsyncInferQueue(self.compiled, self.requests)
        self.queue.set_callback(self._done)
        self.buf = np.full((1, h, w, 3), PAD_VALUE, dtype=np.uint8)
        self._raw: dict[int, np.ndarray] = {}

    def _done(self, request, slot) -> None:
        # Runs on OpenVINO's thread: copy the five box rows out of the reused output tensor.
        self._raw[slot] = request.get_output_tensor(0).data[0, :5].copy()

    def infer(self, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Person boxes (N, 5) in each crop's pixels; crops may differ in size."""
        self._raw = {}
        placed = []
        try:
            for i, crop in enumerate(crops):
                placed.append(letterbox_into(self.buf[0], crop))
                self.queue.start_async({0: self.buf}, i)  # copies the buffer into the request
        finally:
            # Also on an error: no request of this call may finish into the next one's slots.
            self.queue.wait_all()
        return [decode(self._raw[i], placed[i], crop.shape[:2], self.conf, self.iou)
                for i, crop in enumerate(crops)]


class UltralyticsEngine:
    """``ultralytics.YOLO.predict`` on the crops (any backend ultralytics loads)."""

    def __init__(self, model, *, imgsz=(480, 448), conf: float = LOW_SCORE, iou: float = 0.6):
        self.model, self.imgsz, self.conf, self.iou = model, list(imgsz), conf, iou
        self.requests = 1

    def infer(self, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        if not crops:
            return []
        results = self.model.predict([np.ascontiguousarray(c) for c in crops],
                                     imgsz=self.imgsz, conf=self.conf, iou=self.iou,
                                     classes=[0], verbose=False)
        out = []
        for res in results:
            b = res.boxes
            if b is None or len(b) == 0:
                out.append(EMPTY5.copy())
                continue
            out.append(np.hstack([b.xyxy.cpu().numpy(), b.conf.cpu().numpy()[:, None]])
                       .astype(np.float32))
        return out
