"""Reading the QR code in a photo or screenshot of a ticket, with OpenCV.

OpenCV (``cv2``) and numpy are imported on first use: they are heavy, most scans never
need them, and a turnstile without them still validates typed and scanned codes."""
from __future__ import annotations

from .errors import AdmissionError
from .text import _l


def decode_qr(data: bytes, *, max_pixels: int) -> str:
    """The text of the QR code in an image (PNG, JPEG, WebP...). Errors: bad_image,
    image_too_large, no_qr_found."""
    import cv2
    import numpy as np

    if not data:
        raise AdmissionError("bad_image", _l("Upload a photo or screenshot of the ticket."))
    # Read only the header first, so a small file claiming huge dimensions is refused
    # before anything is decoded.
    size = image_size(data)
    if size is None:
        raise _unreadable()
    width, height = size
    if width * height > max_pixels:
        raise AdmissionError("image_too_large", _l("The image is too large "
                                                   "(%(width)s×%(height)s); send a smaller one.",
                                                   width=width, height=height), 413)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise _unreadable()
    text = ""
    # Two detectors (the classic one and the ArUco-based one miss different codes), at
    # full size and then scaled down, which helps small codes in large photos. New
    # detectors per call: they keep state and waitress serves from several threads.
    candidates = [image]
    longest = max(image.shape[:2])
    if longest > 1200:
        scale = 1000 / longest
        candidates.append(cv2.resize(image, None, fx=scale, fy=scale,
                                     interpolation=cv2.INTER_AREA))
    for candidate in candidates:
        for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
            text = _try(detector, candidate)
            if text:
                break
        if text:
            break
    if not text:
        raise AdmissionError("no_qr_found", _l("No QR code could be read in that image. Try a "
                                               "sharper, closer photo."), 422)
    return text


def _unreadable() -> AdmissionError:
    return AdmissionError("bad_image", _l("That file is not an image we can read (PNG, JPEG or "
                                          "WebP)."))


def _try(detector, image) -> str:
    try:
        text, _points, _straight = detector.detectAndDecode(image)
    except Exception:  # OpenCV raises cv2.error on degenerate input; treat as not found
        return ""
    return text or ""


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG or WebP header, or None for anything else.
    Parsed by hand: Pillow's Image.open is monkey-patched by ultralytics when the crowd
    domain is loaded in the same process, and that patch tries to install a package."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8 ":
            return (int.from_bytes(data[26:28], "little") & 0x3FFF,
                    int.from_bytes(data[28:30], "little") & 0x3FFF)
        if chunk == b"VP8L" and data[20] == 0x2F:
            bits = int.from_bytes(data[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if chunk == b"VP8X":
            return (1 + int.from_bytes(data[24:27], "little"),
                    1 + int.from_bytes(data[27:30], "little"))
    return None


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:          # fill byte
            i += 1
            continue
        if marker in (0x01,) or 0xD0 <= marker <= 0xD9:
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker in _SOF:
            if i + 9 > n:
                return None
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        if length < 2:
            return None
        i += 2 + length
    return None
