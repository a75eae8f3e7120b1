"""Track ids from ultralytics' ByteTrack, fed with our merged tile detections."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .count import SURE_SCORE


def _require_lap() -> None:
    # ultralytics would try to pip-install ``lap`` at run time when it is missing; we never
    # let it reach the network, so fail here with a clear message instead.
    try:
        import lap  # noqa: F401
    except ImportError as exc:
        raise RuntimeError("the 'lap' package is required for ByteTrack (pip install "
                           "lap==0.5.13)") from exc


class Tracker:
    """One ByteTrack per camera: (N, 5) boxes+conf in, (track_id, x1, y1, x2, y2) out.

    ByteTrack associates by box overlap (IoU), and a new track needs a second matching
    sighting to start. On a 2-core CPU the detector runs a few times a second, and a small
    walking person can move a whole box width between two runs: no overlap, so ids switch
    and tracks never start. The tracker therefore sees each box widened ``widen`` times
    and made ``heighten`` times taller upwards, keeping the feet (bottom-centre) where they
    are; boxes are shrunk back on the way out.
    """

    def __init__(self, frame_rate: int = 10, track_buffer: int = 30, widen: float = 2.5,
                 heighten: float = 1.3):
        self.widen, self.heighten = widen, heighten
        _require_lap()
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.utils import IterableSimpleNamespace, YAML
        import ultralytics
        cfg = Path(ultralytics.__file__).parent / "cfg" / "trackers" / "bytetrack.yaml"
        args = IterableSimpleNamespace(**YAML.load(cfg))
        args.track_buffer = track_buffer
        # Tiles find small people at modest confidence; keep them as tracks.
        args.track_high_thresh = SURE_SCORE
        args.new_track_thresh = SURE_SCORE
        self.tracker = BYTETracker(args, frame_rate=frame_rate) if _takes_rate() \
            else BYTETracker(args)
        self.shape = (1, 1)
        self.matched: set[int] = set()

    def update(self, dets: np.ndarray, shape: tuple[int, int]) -> list[tuple]:
        from ultralytics.engine.results import Boxes
        data = np.zeros((len(dets), 6), dtype=np.float32)
        if len(dets):
            data[:, :5] = dets[:, :5]
            cx = (dets[:, 0] + dets[:, 2]) / 2
            w, h = dets[:, 2] - dets[:, 0], dets[:, 3] - dets[:, 1]
            data[:, 0] = cx - w * self.widen / 2
            data[:, 2] = cx + w * self.widen / 2
            data[:, 1] = dets[:, 3] - h * self.heighten
        out = self.tracker.update(Boxes(data, shape))
        # Which detections continue or start a track in this frame (ByteTrack's rows end
        # with the detection's index): a low-score box counts as a person only then.
        self.matched = {int(r[-1]) for r in out}
        tracks = []
        for r in out:
            x1, y1, x2, y2 = (float(v) for v in r[:4])
            cx, w, h = (x1 + x2) / 2, (x2 - x1) / self.widen, (y2 - y1) / self.heighten
            tracks.append((int(r[4]), cx - w / 2, y2 - h, cx + w / 2, y2))
        return tracks


def _takes_rate() -> bool:
    import inspect
    from ultralytics.trackers.byte_tracker import BYTETracker
    return "frame_rate" in inspect.signature(BYTETracker.__init__).parameters
