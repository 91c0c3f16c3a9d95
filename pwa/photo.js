// Photos on the phone: decode with the camera's orientation applied, downscale to at most
// 2048 px on the long side, re-encode as JPEG at quality 0.8, and make a small thumbnail.

export const MAX_SIDE = 2048;
export const QUALITY = 0.8;
export const THUMB_SIDE = 240;

async function decode(file) {
  if (typeof createImageBitmap === "function") {
    try {
      return await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch {
      // fall through: an older Safari without the options bag
    }
  }
  if (typeof document === "undefined") throw new Error("cannot decode the image here");
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.decoding = "async";
    img.src = url; // <img> applies EXIF orientation by default (image-orientation: from-image)
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

function sizeOf(source) {
  return [source.width || source.naturalWidth, source.height || source.naturalHeight];
}

export function fit(width, height, maxSide) {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

async function encode(source, width, height, type, quality) {
  if (typeof OffscreenCanvas === "function") {
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(source, 0, 0, width, height);
    return canvas.convertToBlob({ type, quality });
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(source, 0, 0, width, height);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("encode failed"))), type, quality));
}

/** {blob, thumb, width, height} for a picked or captured image file. */
export async function downscale(file, { maxSide = MAX_SIDE, quality = QUALITY } = {}) {
  const source = await decode(file);
  try {
    const [w0, h0] = sizeOf(source);
    const [w, h] = fit(w0, h0, maxSide);
    const blob = await encode(source, w, h, "image/jpeg", quality);
    const [tw, th] = fit(w0, h0, THUMB_SIDE);
    const thumb = await encode(source, tw, th, "image/jpeg", 0.7);
    return { blob, thumb, width: w, height: h };
  } finally {
    if (typeof source.close === "function") source.close();
  }
}
