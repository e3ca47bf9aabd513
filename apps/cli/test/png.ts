import { inflateSync } from "node:zlib";

/** A decoded 8-bit RGB(A) PNG: `rgb(x, y)` reads one pixel. */
export interface Image {
  width: number;
  height: number;
  rgb(x: number, y: number): [number, number, number];
}

/** The PNG's image data: its IDAT chunks joined and inflated (filter byte + pixels per row). */
export function scanlines(png: Buffer): Buffer {
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    if (png.toString("latin1", at + 4, at + 8) === "IDAT")
      idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  return inflateSync(Buffer.concat(idat));
}

/**
 * Decodes the PNGs Chromium writes (8 bits per channel, RGB or RGBA, not interlaced): enough
 * for a test to look at the pixels of a screenshot.
 */
export function decodePng(png: Buffer): Image {
  if (png.subarray(0, 8).toString("hex") !== "89504e470d0a1a0a") throw new Error("not a PNG");
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const depth = png[24];
  const type = png[25];
  if (depth !== 8 || (type !== 2 && type !== 6) || png[28] !== 0)
    throw new Error(`unsupported PNG (depth ${depth}, colour type ${type})`);
  const bpp = type === 6 ? 4 : 3;
  const raw = scanlines(png);
  const stride = width * bpp;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? (out[y * stride + i - bpp] as number) : 0;
      const b = y > 0 ? (out[(y - 1) * stride + i] as number) : 0;
      const c = y > 0 && i >= bpp ? (out[(y - 1) * stride + i - bpp] as number) : 0;
      const x = line[i] as number;
      let v: number;
      if (filter === 0) v = x;
      else if (filter === 1) v = x + a;
      else if (filter === 2) v = x + b;
      else if (filter === 3) v = x + ((a + b) >> 1);
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      } else throw new Error(`bad PNG filter ${filter}`);
      out[y * stride + i] = v & 0xff;
    }
  }
  return {
    width,
    height,
    rgb: (x, y) => {
      const o = y * stride + x * bpp;
      return [out[o] as number, out[o + 1] as number, out[o + 2] as number];
    },
  };
}

/** The columns (x) where pixels of about colour `hex` appear, with how many pixels each. */
export function columnsOf(img: Image, hex: string, tolerance = 24): Map<number, number> {
  const want = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  const cols = new Map<number, number>();
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const px = img.rgb(x, y);
      if (px.every((v, i) => Math.abs(v - (want[i] as number)) <= tolerance))
        cols.set(x, (cols.get(x) ?? 0) + 1);
    }
  return cols;
}
