"""Model caches built from packaged files only: the joined Whisper model is checked by
size and sha256, rebuilt when damaged, and left alone when sound."""
import pytest

from guide import models

pytestmark = pytest.mark.model


def test_whisper_cache_is_built_checked_and_repaired(tmp_path):
    folder = models.prepare_whisper(tmp_path)
    target = folder / "model.bin"
    assert target.stat().st_size == models.WHISPER_SIZE
    assert (folder / "model.bin.sha256").read_text().strip() == models.WHISPER_SHA256
    for name in models.WHISPER_SMALL_FILES:
        assert (folder / name).stat().st_size > 0
    mtime = target.stat().st_mtime_ns
    models.prepare_whisper(tmp_path)                       # sound: untouched
    assert target.stat().st_mtime_ns == mtime
    with open(target, "r+b") as fh:                        # damaged copy: rebuilt
        fh.truncate(1000)
    models.prepare_whisper(tmp_path)
    assert target.stat().st_size == models.WHISPER_SIZE


def test_prepare_reports_every_model(monkeypatch, tmp_path):
    monkeypatch.setenv(models.ENV_DIR, str(tmp_path))
    summary = models.prepare()
    assert "sha256 ok" in summary and str(tmp_path) in summary
