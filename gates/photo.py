"""Reading the QR code in a photo or screenshot of a ticket, with OpenCV."""
from __future__ import annotations

import io

from core.errors import DomainError

# OpenCV is imported on first use: it is heavy and most requests never need it.


def _bad(code, en, zh, status=400):
    return DomainError(code, en, status, message_zh=zh)


def decode_qr(data: bytes, *, max_pixels: int) -> str:
    """The text of the QR code in an image (PNG, JPEG, WebP...). Errors: bad_image,
    image_too_large, no_qr_found."""
    import cv2
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise _bad("bad_image", "Upload a photo or screenshot of the ticket.",
                   "请上传门票的照片或截图。")
    # Read only the header first, so a small file claiming huge dimensions is refused
    # before anything is decoded.
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise _bad("bad_image", "That file is not an image we can read (PNG, JPEG or WebP).",
                   "无法读取该文件，请上传 PNG、JPEG 或 WebP 图片。") from None
    if width * height > max_pixels:
        raise _bad("image_too_large", f"The image is too large ({width}×{height}); send a "
                   "smaller one.", f"图片过大（{width}×{height}），请缩小后再上传。", 413)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise _bad("bad_image", "That file is not an image we can read (PNG, JPEG or WebP).",
                   "无法读取该文件，请上传 PNG、JPEG 或 WebP 图片。")
    # A detector per call: it keeps state and waitress serves from several threads.
    detector = cv2.QRCodeDetector()
    text = _try(detector, image)
    if not text:
        # Small codes in large photos decode better after scaling down.
        longest = max(image.shape[:2])
        if longest > 1200:
            scale = 1000 / longest
            text = _try(detector, cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    if not text:
        raise _bad("no_qr_found", "No QR code could be read in that image. Try a sharper, "
                   "closer photo.", "未能在图片中识别二维码，请拍得更清晰、更近一些。", 422)
    return text


def _try(detector, image) -> str:
    try:
        text, _points, _straight = detector.detectAndDecode(image)
    except Exception:  # OpenCV raises cv2.error on degenerate input; treat as not found
        return ""
    return text or ""
