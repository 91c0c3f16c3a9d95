"""QR codes as inline SVG (certificates) — made with the qrcode package, no image library needed."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg


def svg(data: str, box_size: int = 10) -> str:
    """An SVG document of a QR code for ``data`` (error correction M, a quiet zone of 4 modules)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4,
                       image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(data)
    qr.make(fit=True)
    buf = io.BytesIO()
    qr.make_image().save(buf)
    text = buf.getvalue().decode("utf-8")
    return text[text.index("<svg"):]  # drop the XML declaration so it can sit inline in HTML
