/** One-shot BLAKE2b (RFC 7693), unkeyed, 64-bit words held as (lo, hi) pairs of 32-bit ints. */
const IV = new Uint32Array([
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a,
  0xade682d1, 0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19,
]);

const SIGMA = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11,
  7, 5, 3, 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4, 7, 9, 3, 1, 13, 12, 11, 14, 2, 6,
  5, 10, 4, 0, 15, 8, 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13, 2, 12, 6, 10, 0, 11, 8,
  3, 4, 13, 7, 5, 15, 14, 1, 9, 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11, 13, 11, 7, 14,
  12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10, 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5, 10,
  2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
].map((x) => x * 2);

function add64(v: Uint32Array, a: number, b: number): void {
  const lo = (v[a] as number) + (v[b] as number);
  v[a + 1] = (v[a + 1] as number) + (v[b + 1] as number) + (lo >= 0x100000000 ? 1 : 0);
  v[a] = lo;
}

function add64c(v: Uint32Array, a: number, lo0: number, hi0: number): void {
  const lo = (v[a] as number) + lo0;
  v[a + 1] = (v[a + 1] as number) + hi0 + (lo >= 0x100000000 ? 1 : 0);
  v[a] = lo;
}

function g(
  v: Uint32Array,
  m: Uint32Array,
  a: number,
  b: number,
  c: number,
  d: number,
  ix: number,
  iy: number,
): void {
  add64(v, a, b);
  add64c(v, a, m[ix] as number, m[ix + 1] as number);
  let x0 = (v[d] as number) ^ (v[a] as number);
  let x1 = (v[d + 1] as number) ^ (v[a + 1] as number);
  v[d] = x1;
  v[d + 1] = x0;
  add64(v, c, d);
  x0 = (v[b] as number) ^ (v[c] as number);
  x1 = (v[b + 1] as number) ^ (v[c + 1] as number);
  v[b] = (x0 >>> 24) ^ (x1 << 8);
  v[b + 1] = (x1 >>> 24) ^ (x0 << 8);
  add64(v, a, b);
  add64c(v, a, m[iy] as number, m[iy + 1] as number);
  x0 = (v[d] as number) ^ (v[a] as number);
  x1 = (v[d + 1] as number) ^ (v[a + 1] as number);
  v[d] = (x0 >>> 16) ^ (x1 << 16);
  v[d + 1] = (x1 >>> 16) ^ (x0 << 16);
  add64(v, c, d);
  x0 = (v[b] as number) ^ (v[c] as number);
  x1 = (v[b + 1] as number) ^ (v[c + 1] as number);
  v[b] = (x1 >>> 31) ^ (x0 << 1);
  v[b + 1] = (x0 >>> 31) ^ (x1 << 1);
}

function compress(h: Uint32Array, block: Uint8Array, t: number, last: boolean): void {
  const v = new Uint32Array(32);
  const m = new Uint32Array(32);
  for (let i = 0; i < 16; i++) {
    v[i] = h[i] as number;
    v[i + 16] = IV[i] as number;
  }
  v[24] = (v[24] as number) ^ t;
  v[25] = (v[25] as number) ^ Math.floor(t / 0x100000000);
  if (last) {
    v[28] = ~(v[28] as number);
    v[29] = ~(v[29] as number);
  }
  for (let i = 0; i < 32; i++) {
    const o = i * 4;
    m[i] =
      (block[o] as number) |
      ((block[o + 1] as number) << 8) |
      ((block[o + 2] as number) << 16) |
      ((block[o + 3] as number) << 24);
  }
  for (let r = 0; r < 12; r++) {
    const s = (r % 10) * 16;
    const S = (k: number) => SIGMA[s + k] as number;
    g(v, m, 0, 8, 16, 24, S(0), S(1));
    g(v, m, 2, 10, 18, 26, S(2), S(3));
    g(v, m, 4, 12, 20, 28, S(4), S(5));
    g(v, m, 6, 14, 22, 30, S(6), S(7));
    g(v, m, 0, 10, 20, 30, S(8), S(9));
    g(v, m, 2, 12, 22, 24, S(10), S(11));
    g(v, m, 4, 14, 16, 26, S(12), S(13));
    g(v, m, 6, 8, 18, 28, S(14), S(15));
  }
  for (let i = 0; i < 16; i++) h[i] = (h[i] as number) ^ (v[i] as number) ^ (v[i + 16] as number);
}

/** BLAKE2b digest of `data` with `outLen` bytes (1..64). */
export function blake2b(data: Uint8Array, outLen: number): Uint8Array {
  const h = new Uint32Array(IV);
  h[0] = (h[0] as number) ^ 0x01010000 ^ outLen;
  const block = new Uint8Array(128);
  let off = 0;
  let t = 0;
  // Every full block except the final one is compressed without the "last" flag.
  while (data.length - off > 128) {
    block.set(data.subarray(off, off + 128));
    t += 128;
    compress(h, block, t, false);
    off += 128;
  }
  block.fill(0);
  block.set(data.subarray(off));
  t += data.length - off;
  compress(h, block, t, true);
  const out = new Uint8Array(outLen);
  for (let i = 0; i < outLen; i++) out[i] = ((h[i >> 2] as number) >>> (8 * (i & 3))) & 0xff;
  return out;
}
