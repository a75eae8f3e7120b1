"""Track ids from ultralytics' ByteTrack, fed with our merged tile detections."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _require_lap() -> None:
    # ultralytics would try to pip-install ``lap`` at run time when it is missing; we never
    # let it reach the network, so fail here with a clear message instead.
    try:
        import lap  # noqa: F401
    except ImportError as exc:
        raise RuntimeError("the 'lap' package is required for ByteTrack (pip install "
                           "lap==0.5.13)") from exc


class Tracker:
    """One ByteTrack per camera: (N, 5) boxes+conf in, (track_id, x1, y1, x2, y2) out."""

    def __init__(self, frame_rate: int = 10, track_buffer: int = 30):
        _require_lap()
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.utils import IterableSimpleNamespace, YAML
        import ultralytics
        cfg = Path(ultralytics.__file__).parent / "cfg" / "trackers" / "bytetrack.yaml"
        args = IterableSimpleNamespace(**YAML.load(cfg))
        args.track_buffer = track_buffer
        # Tiles find small people at modest confidence; keep them as tracks.
        args.track_high_thresh = 0.2
        args.new_track_thresh = 0.2
        self.tracker = BYTETracker(args, frame_rate=frame_rate) if _takes_rate() \
            else BYTETracker(args)
        self.shape = (1, 1)

    def update(self, dets: np.ndarray, shape: tuple[int, int]) -> list[tuple]:
        from ultralytics.engine.results import Boxes
        data = np.zeros((len(dets), 6), dtype=np.float32)
        if len(dets):
            data[:, :5] = dets[:, :5]
        out = self.tracker.update(Boxes(data, shape))
        return [(int(r[4]), float(r[0]), float(r[1]), float(r[2]), float(r[3])) for r in out]


def _takes_rate() -> bool:
    import inspect
    from ultralytics.trackers.byte_tracker import BYTETracker
    return "frame_rate" in inspect.signature(BYTETracker.__init__).parameters
