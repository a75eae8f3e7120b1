"""QR rendering of e-ticket codes (SVG for pages, PNG for download)."""
from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _qr(text: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=8)
    qr.add_data(text)  # the code uses the QR alphanumeric set, so qrcode picks that mode
    qr.make(fit=True)
    return qr


def svg(text: str) -> str:
    img = _qr(text).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return img.to_string(encoding="unicode")


def png(text: str) -> bytes:
    buf = io.BytesIO()
    _qr(text).make_image(fill_color="black", back_color="white").save(buf, format="PNG")
    return buf.getvalue()
