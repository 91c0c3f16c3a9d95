// The facts a camera writes into a JPEG, read BEFORE the phone downscales it (the canvas re-encode
// drops every EXIF tag): when the picture was taken and where. Only what the visit envelope carries:
// DateTimeOriginal (+ OffsetTimeOriginal), and the GPS latitude, longitude and horizontal error.
// A small reader of the TIFF structure inside the APP1 "Exif" segment; anything unexpected → null.

const TAG_EXIF_IFD = 0x8769;
const TAG_GPS_IFD = 0x8825;
const TAG_DATETIME = 0x0132;
const TAG_DATETIME_ORIGINAL = 0x9003;
const TAG_OFFSET_ORIGINAL = 0x9011;
const GPS_LAT_REF = 1;
const GPS_LAT = 2;
const GPS_LON_REF = 3;
const GPS_LON = 4;
const GPS_H_ERROR = 0x1f;
// How much of the file to read: the EXIF segment is at most 64 KB and comes before the image data
// (after at most a JFIF APP0 and the like).
export const EXIF_BYTES = 256 * 1024;
const SIZES = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8 };

/** The TIFF block of the first APP1 Exif segment of a JPEG, or null. */
function tiffOf(view) {
  if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return null;
  let at = 2;
  while (at + 4 <= view.byteLength) {
    if (view.getUint8(at) !== 0xff) return null;
    const marker = view.getUint8(at + 1);
    if (marker === 0xda || marker === 0xd9) return null; // image data: no EXIF before it
    const length = view.getUint16(at + 2);
    if (marker === 0xe1 && length >= 8 && at + 10 <= view.byteLength &&
        view.getUint32(at + 4) === 0x45786966 && view.getUint16(at + 8) === 0) { // "Exif\0\0"
      const start = at + 10;
      const end = Math.min(view.byteLength, at + 2 + length);
      return new DataView(view.buffer, view.byteOffset + start, end - start);
    }
    at += 2 + length;
  }
  return null;
}

function reader(tiff) {
  const order = tiff.getUint16(0);
  if (order !== 0x4949 && order !== 0x4d4d) return null;
  const little = order === 0x4949;
  if (tiff.getUint16(2, little) !== 42) return null;
  const u16 = (o) => tiff.getUint16(o, little);
  const u32 = (o) => tiff.getUint32(o, little);
  /** {tag: {type, count, offset of the value}} of the IFD at `offset`. */
  const ifd = (offset) => {
    const out = {};
    if (!offset || offset + 2 > tiff.byteLength) return out;
    const n = u16(offset);
    for (let i = 0; i < n; i += 1) {
      const e = offset + 2 + i * 12;
      if (e + 12 > tiff.byteLength) break;
      const type = u16(e + 2);
      const count = u32(e + 4);
      const size = (SIZES[type] || 1) * count;
      const at = size <= 4 ? e + 8 : u32(e + 8);
      if (at + size <= tiff.byteLength) out[u16(e)] = { type, count, at };
    }
    return out;
  };
  const ascii = (entry) => {
    if (!entry || entry.type !== 2) return null;
    let s = "";
    for (let i = 0; i < entry.count; i += 1) {
      const c = tiff.getUint8(entry.at + i);
      if (c === 0) break;
      s += String.fromCharCode(c);
    }
    return s.trim();
  };
  const rationals = (entry) => {
    if (!entry || entry.type !== 5) return null;
    const out = [];
    for (let i = 0; i < entry.count; i += 1) {
      const den = u32(entry.at + i * 8 + 4);
      if (den === 0) return null;
      out.push(u32(entry.at + i * 8) / den);
    }
    return out;
  };
  const pointer = (entry) => (entry && (entry.type === 4 || entry.type === 13) ? u32(entry.at) : 0);
  return { ifd, ascii, rationals, pointer, first: u32(4) };
}

const pad = (n) => String(n).padStart(2, "0");

/** "YYYY:MM:DD HH:MM:SS" (+ "+08:00") as ISO 8601 with an offset; without an offset tag the camera's
 *  clock is taken to be in the phone's own time zone at that moment. */
export function exifDateTime(text, offset) {
  const m = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(text || "");
  if (!m || m[1] === "0000") return null;
  let off = offset && /^[+-]\d{2}:\d{2}$/.test(offset) ? offset : null;
  if (!off) {
    const local = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
    if (Number.isNaN(local.getTime())) return null;
    const mins = -local.getTimezoneOffset();
    off = `${mins >= 0 ? "+" : "-"}${pad(Math.floor(Math.abs(mins) / 60))}:${pad(Math.abs(mins) % 60)}`;
  }
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${off}`;
}

function degrees(parts, ref) {
  if (!parts || parts.length < 1) return null;
  const [d, mi = 0, s = 0] = parts;
  const value = d + mi / 60 + s / 3600;
  return ref === "S" || ref === "W" ? -value : value;
}

// A camera that writes a position but no positioning error: the position is kept with this accuracy
// (metres), a phone GPS's usual outdoor worst case, so the office never reads it as exact.
export const UNSTATED_ACCURACY = "50.0";

/** {captured_at, position} from a JPEG's bytes (ArrayBuffer); each null when the camera gave none. */
export function readExif(buffer) {
  const out = { captured_at: null, position: null };
  try {
    const tiff = tiffOf(new DataView(buffer));
    if (!tiff) return out;
    const r = reader(tiff);
    if (!r) return out;
    const ifd0 = r.ifd(r.first);
    const exif = r.ifd(r.pointer(ifd0[TAG_EXIF_IFD]));
    out.captured_at = exifDateTime(r.ascii(exif[TAG_DATETIME_ORIGINAL]) || r.ascii(ifd0[TAG_DATETIME]),
      r.ascii(exif[TAG_OFFSET_ORIGINAL]));
    const gps = r.ifd(r.pointer(ifd0[TAG_GPS_IFD]));
    const lat = degrees(r.rationals(gps[GPS_LAT]), r.ascii(gps[GPS_LAT_REF]));
    const lon = degrees(r.rationals(gps[GPS_LON]), r.ascii(gps[GPS_LON_REF]));
    if (lat !== null && lon !== null && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && !(lat === 0 && lon === 0)) {
      const err = r.rationals(gps[GPS_H_ERROR]);
      out.position = { lat: lat.toFixed(6), lon: lon.toFixed(6),
        accuracy: err && Number.isFinite(err[0]) && err[0] >= 0 ? err[0].toFixed(1) : UNSTATED_ACCURACY };
    }
  } catch {
    // a damaged or unusual EXIF block: the phone's own clock and position are used instead
  }
  return out;
}
