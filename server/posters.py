"""A board's poster as a PNG: an A4 page with the board's name, what its list is, how to object, the
tip-off line, dates and a large QR code of the board's public URL.

Plain Python + Pillow + qrcode (no Flask, no database): the caller passes the text.  Chinese needs a
CJK font; Debian's ``fonts-noto-cjk`` is found at its usual place (or pass ``font_path``).  Without
one the poster is still made — QR code, URL and a notice in English that the Chinese text is
missing — and :func:`render_png` says so in its warning, so nobody prints a poster of empty boxes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
REGULAR_FONTS = (NOTO_DIR / "NotoSansCJK-Regular.ttc", NOTO_DIR / "NotoSerifCJK-Regular.ttc")
BOLD_FONTS = (NOTO_DIR / "NotoSansCJK-Bold.ttc",)
SC_INDEX = 2   # in the Noto CJK collections: 0 JP, 1 KR, 2 SC (simplified Chinese), 3 TC, 4 HK
A4_MM = (210, 297)
MISSING_FONT = ("No Chinese font found: install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk) "
                "for the Chinese text of the poster")
MISSING_FONT_ZH = "未找到中文字体：请安装 fonts-noto-cjk（apt-get install fonts-noto-cjk）后再生成海报"


@dataclass(frozen=True)
class PosterText:
    title: str                     # the board's name
    heading: str                   # e.g. 最低生活保障公示
    unit_line: str                 # office · unit
    what: str                      # what the list is
    steps: Sequence[str] = field(default_factory=tuple)
    tipoff: str = ""               # "监督举报电话：…" or ""
    dates: str = ""
    url: str = ""


def find_font(candidates: Sequence[Path] = REGULAR_FONTS, explicit: str | Path | None = None) -> Path | None:
    """The font to use: ``explicit`` when given (None if that file is missing: a configured font that is not
    there is reported, not silently replaced), else the first of ``candidates`` that exists."""
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    return next((path for path in candidates if path.is_file()), None)


def _font(path: Path | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size=size)
    try:
        return ImageFont.truetype(str(path), size, index=SC_INDEX if path.suffix == ".ttc" else 0)
    except OSError:
        return ImageFont.truetype(str(path), size)


def qr_image(data: str, size: int) -> Image.Image:
    """A QR code of ``data`` (error correction M, 4-module quiet zone), scaled to at most ``size`` px
    with whole pixels per module so that scanners read sharp edges."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    modules = qr.modules_count + 8
    box = max(1, size // modules)
    img = qr.make_image(fill_color="black", back_color="white").get_image().convert("L")
    return img.resize((modules * box, modules * box), Image.NEAREST)


_NO_LINE_START = frozenset("，。、；：？！）》」』”’,.;:?!)")


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (character by character: Chinese has no spaces);
    closing punctuation stays at the end of its line instead of starting the next one."""
    lines, line = [], ""
    for ch in text:
        if ch == "\n":
            lines.append(line)
            line = ""
            continue
        if draw.textlength(line + ch, font=font) > width and line and ch not in _NO_LINE_START:
            lines.append(line)
            line = ch.lstrip()
        else:
            line += ch
    if line:
        lines.append(line)
    return lines


def render_png(poster: PosterText, *, font_path: str | Path | None = None, bold_path: str | Path | None = None,
               dpi: int = 150) -> tuple[bytes, str | None]:
    """The poster as PNG bytes at ``dpi`` on A4, and a warning (None when everything could be drawn)."""
    regular = find_font(REGULAR_FONTS, font_path)
    bold = (find_font(BOLD_FONTS, bold_path) if not font_path or bold_path else None) or regular
    warning = None if regular else MISSING_FONT
    width, height = (round(mm / 25.4 * dpi) for mm in A4_MM)
    scale = dpi / 150
    margin = round(80 * scale)
    inner = width - 2 * margin
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    y = margin

    def block(text: str, size: int, *, font_file: Path | None, gap: int, centre: bool = False, fill: int = 0):
        nonlocal y
        font = _font(font_file, round(size * scale))
        for line in _wrap(draw, text, font, inner):
            w = draw.textlength(line, font=font)
            draw.text((margin + (inner - w) / 2 if centre else margin, y), line, font=font, fill=fill)
            y += round(size * scale * 1.35)
        y += round(gap * scale)

    if regular:
        block(poster.heading, 66, font_file=bold, gap=6, centre=True)
        block(poster.title, 46, font_file=bold, gap=2, centre=True)
        block(poster.unit_line, 30, font_file=regular, gap=18, centre=True, fill=60)
        block(poster.what, 32, font_file=regular, gap=18, centre=True)
    else:
        block("Dibao notice board / public list", 48, font_file=None, gap=10, centre=True)
        block(MISSING_FONT, 26, font_file=None, gap=18, centre=True, fill=60)

    footer_lines = 1 + (1 if poster.dates else 0) + 1
    reserved = round((len(poster.steps) * 2 + footer_lines + (2 if poster.tipoff else 0)) * 40 * scale) + margin
    qr_size = max(round(300 * scale), min(inner - round(120 * scale), height - y - reserved))
    qr = qr_image(poster.url, qr_size)
    img.paste(qr, ((width - qr.width) // 2, y))
    y += qr.height + round(16 * scale)
    block(poster.url, 24, font_file=regular, gap=16, centre=True, fill=40)

    if regular:
        for i, step in enumerate(poster.steps, start=1):
            block(f"{i}. {step}", 30, font_file=regular, gap=6)
        if poster.tipoff:
            y += round(8 * scale)
            block(poster.tipoff, 40, font_file=bold, gap=8, centre=True)
        if poster.dates:
            block(poster.dates, 24, font_file=regular, gap=0, centre=True, fill=60)

    buf = io.BytesIO()
    img.save(buf, "PNG", dpi=(dpi, dpi), optimize=True)
    return buf.getvalue(), warning
