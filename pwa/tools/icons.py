"""Draw the app icon with Pillow: a house with a tick on the app's blue, as a maskable PNG.

The server imports ``render`` to serve /app/icons/icon-192.png and icon-512.png (nothing binary is
kept in the repository); ``python pwa/tools/icons.py OUTDIR`` writes the two files for a look.
The same drawing, as SVG, is ``pwa/icons/icon.svg``.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image, ImageDraw

BLUE = (11, 61, 145)
WHITE = (255, 255, 255)
GREEN = (46, 160, 67)


def render(size: int) -> bytes:
    """The icon as PNG bytes, size x size. The drawing stays inside the central 80 % (maskable safe zone)."""
    scale = 4  # draw large, shrink: smooth edges without anti-aliasing primitives
    s = size * scale
    img = Image.new("RGB", (s, s), BLUE)
    d = ImageDraw.Draw(img)

    def p(x: float, y: float) -> tuple[int, int]:
        return round(x * s / 100), round(y * s / 100)

    d.polygon([p(50, 22), p(78, 46), p(22, 46)], fill=WHITE)                 # roof
    d.rectangle([p(29, 45), p(71, 76)], fill=WHITE)                          # walls
    d.rectangle([p(44, 58), p(56, 76)], fill=BLUE)                           # door
    d.line([p(55, 67), p(63, 75), p(80, 54)], fill=GREEN, width=round(s * 0.06), joint="curve")  # tick
    img = img.resize((size, size), Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (out / f"icon-{size}.png").write_bytes(render(size))
        print(out / f"icon-{size}.png")
