"""Drawing only: boxes, track ids, areas, lines and counts on a copy of a frame."""
from __future__ import annotations

import cv2
import numpy as np

AREA_COLOUR = (80, 200, 255)
LINE_COLOUR = (255, 120, 40)
BOX_COLOUR = (60, 220, 60)


def draw(frame: np.ndarray, tracks, areas, lines, area_counts: dict, line_totals: dict,
         status: str = "") -> np.ndarray:
    img = frame.copy()
    overlay = img.copy()
    for area in areas:
        pts = np.array(area.polygon, dtype=np.int32)
        cv2.fillPoly(overlay, [pts], AREA_COLOUR)
    cv2.addWeighted(overlay, 0.15, img, 0.85, 0, img)
    for area in areas:
        pts = np.array(area.polygon, dtype=np.int32)
        cv2.polylines(img, [pts], True, AREA_COLOUR, 2)
        x, y = pts[:, 0].min(), pts[:, 1].min()
        _label(img, f"{area.name}: {area_counts.get(area.name, 0)}", (int(x) + 4, int(y) + 18),
               AREA_COLOUR)
    for line in lines:
        a = tuple(int(v) for v in line.a)
        b = tuple(int(v) for v in line.b)
        cv2.line(img, a, b, LINE_COLOUR, 2)
        t = line_totals.get(line.name, {"in": 0, "out": 0})
        _label(img, f"{line.name} in {t['in']} / out {t['out']}", (a[0] + 4, a[1] - 6),
               LINE_COLOUR)
    for tid, x1, y1, x2, y2 in tracks:
        cv2.rectangle(img, (int(x1), int(y1)), (int(x2), int(y2)), BOX_COLOUR, 2)
        _label(img, f"#{tid}", (int(x1), max(12, int(y1) - 4)), BOX_COLOUR)
        cv2.circle(img, (int((x1 + x2) / 2), int(y2)), 3, BOX_COLOUR, -1)
    _label(img, f"people {len(tracks)} {status}".strip(), (8, 22), (255, 255, 255))
    return img


def _label(img, text, org, colour) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)


def encode_jpeg(img: np.ndarray, quality: int = 70, max_width: int = 960) -> bytes:
    h, w = img.shape[:2]
    if w > max_width:
        img = cv2.resize(img, (max_width, int(h * max_width / w)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
