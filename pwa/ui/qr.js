// QR codes: drawing the attestation QR (qrcode-generator) and reading one — with the camera
// (BarcodeDetector where the browser has it, else jsQR on video frames) or from a photo.

import qrcode from "../vendor/qrcode-generator/dist/qrcode.mjs";

/** Draw text as a QR code on a canvas: dark modules on white, with a 4-module quiet zone. */
export function drawQr(canvas, text, pixels = 8) {
  const qr = qrcode(0, "M");
  qr.addData(text, "Byte");
  qr.make();
  const n = qr.getModuleCount();
  const size = (n + 8) * pixels;
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, size, size);
  ctx.fillStyle = "#000";
  for (let r = 0; r < n; r += 1) {
    for (let c = 0; c < n; c += 1) if (qr.isDark(r, c)) ctx.fillRect((c + 4) * pixels, (r + 4) * pixels, pixels, pixels);
  }
  return canvas;
}

let jsqrLoading = null;

function loadJsQr() {
  // jsQR is a plain script (UMD): it defines window.jsQR. Loaded only when needed; precached.
  if (window.jsQR) return Promise.resolve(window.jsQR);
  if (!jsqrLoading) {
    jsqrLoading = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = new URL("../vendor/jsqr/dist/jsQR.js", import.meta.url).href;
      s.onload = () => resolve(window.jsQR);
      s.onerror = () => { jsqrLoading = null; reject(new Error("jsQR failed to load")); };
      document.head.append(s);
    });
  }
  return jsqrLoading;
}

async function detector() {
  if (!("BarcodeDetector" in window)) return null;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
  } catch {
    return null;
  }
}

function pixelsOf(source, maxSide = 1280) {
  const w = source.videoWidth || source.width;
  const hgt = source.videoHeight || source.height;
  const scale = Math.min(1, maxSide / Math.max(w, hgt));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(hgt * scale);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

async function decodeSource(source) {
  const bd = await detector();
  if (bd) {
    try {
      const found = await bd.detect(source);
      if (found.length) return found[0].rawValue;
    } catch {
      // fall back to jsQR
    }
  }
  const jsQR = await loadJsQr();
  const img = pixelsOf(source);
  const hit = jsQR(img.data, img.width, img.height, { inversionAttempts: "attemptBoth" });
  return hit ? hit.data : null;
}

/** The text of the QR code in an image file (a photo of the other phone's screen), or null. */
export async function scanFile(file) {
  const bitmap = await createImageBitmap(file);
  try {
    return await decodeSource(bitmap);
  } finally {
    bitmap.close();
  }
}

/** Scan with the camera into `video` until a code is read or stop() is called. */
export function scanCamera(video, onText) {
  let stream = null;
  let stopped = false;
  const stop = () => {
    stopped = true;
    if (stream) stream.getTracks().forEach((tr) => tr.stop());
    video.srcObject = null;
  };
  const started = (async () => {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    if (stopped) return stop();
    video.srcObject = stream;
    video.setAttribute("playsinline", "");
    await video.play();
    while (!stopped) {
      if (video.readyState >= 2) {
        const text = await decodeSource(video).catch(() => null);
        if (text && !stopped) {
          stop();
          onText(text);
          return undefined;
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return undefined;
  })();
  return { stop, started };
}
