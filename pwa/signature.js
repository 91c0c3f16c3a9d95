// Signatures drawn on the screen (signature_pad), kept as PNG. The strokes are kept too, so a
// half-drawn signature comes back exactly after a reload and can be continued.

import SignaturePad from "./vendor/signature_pad/dist/signature_pad.min.js";

export class SignatureBox {
  /** canvas: the element; onChange(strokes) after every stroke. */
  constructor(canvas, { onChange, readOnly = false } = {}) {
    this.canvas = canvas;
    this.pad = new SignaturePad(canvas, { penColor: "#0b1f4d", minWidth: 1.2, maxWidth: 3.2, backgroundColor: "rgba(0,0,0,0)" });
    this.strokes = [];
    this.onChange = onChange;
    this.pad.addEventListener("endStroke", () => {
      this.strokes = this.pad.toData();
      if (this.onChange) this.onChange(this.strokes);
    });
    if (readOnly) this.pad.off();
    this.resize = this.resize.bind(this);
    this.resize();
    addEventListener("resize", this.resize);
  }

  resize() {
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    const rect = this.canvas.getBoundingClientRect();
    if (!rect.width) return;
    this.canvas.width = Math.round(rect.width * ratio);
    this.canvas.height = Math.round(rect.height * ratio);
    this.canvas.getContext("2d").scale(ratio, ratio);
    this.pad.clear();
    if (this.strokes.length) this.pad.fromData(this.strokes);
  }

  load(strokes) {
    this.strokes = strokes || [];
    this.pad.clear();
    if (this.strokes.length) this.pad.fromData(this.strokes);
  }

  clear() {
    this.strokes = [];
    this.pad.clear();
  }

  isEmpty() {
    return this.pad.isEmpty();
  }

  /** The signature as a PNG Blob, cropped to the drawing's box plus a margin. */
  async png() {
    const src = this.canvas;
    const ctx = src.getContext("2d");
    const { width, height } = src;
    const data = ctx.getImageData(0, 0, width, height).data;
    let x0 = width, y0 = height, x1 = -1, y1 = -1;
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) {
        if (data[(y * width + x) * 4 + 3]) {
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
    }
    if (x1 < 0) return null;
    const m = 8;
    x0 = Math.max(0, x0 - m); y0 = Math.max(0, y0 - m);
    x1 = Math.min(width - 1, x1 + m); y1 = Math.min(height - 1, y1 + m);
    const out = document.createElement("canvas");
    out.width = x1 - x0 + 1;
    out.height = y1 - y0 + 1;
    const octx = out.getContext("2d");
    octx.fillStyle = "#ffffff"; // white paper, so it prints and shows on any background
    octx.fillRect(0, 0, out.width, out.height);
    octx.drawImage(src, x0, y0, out.width, out.height, 0, 0, out.width, out.height);
    return new Promise((resolve) => out.toBlob(resolve, "image/png"));
  }

  destroy() {
    removeEventListener("resize", this.resize);
    this.pad.off();
  }
}
