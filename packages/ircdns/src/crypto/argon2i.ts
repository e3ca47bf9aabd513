import { blake2b } from "./blake2b.js";
import { concat } from "./bytes.js";

/** Argon2i v1.3 (RFC 9106) with one lane, as the IRCDNS time-lock needs. Pure TS (Node 20 has no argon2). */

function le32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** H': BLAKE2b stretched to any output length. */
function hPrime(x: Uint8Array, outLen: number): Uint8Array {
  const input = concat(le32(outLen), x);
  if (outLen <= 64) return blake2b(input, outLen);
  const out = new Uint8Array(outLen);
  const r = Math.ceil(outLen / 32) - 2;
  let v = blake2b(input, 64);
  out.set(v.subarray(0, 32), 0);
  for (let i = 1; i < r; i++) {
    v = blake2b(v, 64);
    out.set(v.subarray(0, 32), i * 32);
  }
  v = blake2b(v, outLen - 32 * r);
  out.set(v, 32 * r);
  return out;
}

// fBlaMka: v[a] = v[a] + v[b] + 2 * lo32(v[a]) * lo32(v[b])  (mod 2^64), words as (lo, hi) pairs.
function fBlaMka(v: Uint32Array, a: number, b: number): void {
  const al = v[a] as number;
  const bl = v[b] as number;
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const pl = ((mid << 16) | (p00 & 0xffff)) >>> 0;
  const ph = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
  const pl2 = (pl << 1) >>> 0;
  const ph2 = ((ph << 1) | (pl >>> 31)) >>> 0;
  const lo = al + bl + pl2;
  v[a + 1] = (v[a + 1] as number) + (v[b + 1] as number) + ph2 + Math.floor(lo / 0x100000000);
  v[a] = lo;
}

function gb(v: Uint32Array, a: number, b: number, c: number, d: number): void {
  fBlaMka(v, a, b);
  let x0 = (v[d] as number) ^ (v[a] as number);
  let x1 = (v[d + 1] as number) ^ (v[a + 1] as number);
  v[d] = x1;
  v[d + 1] = x0;
  fBlaMka(v, c, d);
  x0 = (v[b] as number) ^ (v[c] as number);
  x1 = (v[b + 1] as number) ^ (v[c + 1] as number);
  v[b] = (x0 >>> 24) ^ (x1 << 8);
  v[b + 1] = (x1 >>> 24) ^ (x0 << 8);
  fBlaMka(v, a, b);
  x0 = (v[d] as number) ^ (v[a] as number);
  x1 = (v[d + 1] as number) ^ (v[a + 1] as number);
  v[d] = (x0 >>> 16) ^ (x1 << 16);
  v[d + 1] = (x1 >>> 16) ^ (x0 << 16);
  fBlaMka(v, c, d);
  x0 = (v[b] as number) ^ (v[c] as number);
  x1 = (v[b + 1] as number) ^ (v[c + 1] as number);
  v[b] = (x1 >>> 31) ^ (x0 << 1);
  v[b + 1] = (x0 >>> 31) ^ (x1 << 1);
}

// The 16 word indices (x2 = Uint32 offsets) of the 8 row and 8 column permutations of a 1 KiB block.
const PERMS: number[][] = [];
for (let i = 0; i < 8; i++) PERMS.push(Array.from({ length: 16 }, (_, j) => (16 * i + j) * 2));
for (let i = 0; i < 8; i++) {
  const w: number[] = [];
  for (let j = 0; j < 8; j++) w.push((2 * i + 16 * j) * 2, (2 * i + 16 * j + 1) * 2);
  PERMS.push(w);
}

function permute(v: Uint32Array, w: number[]): void {
  const W = (k: number) => w[k] as number;
  gb(v, W(0), W(4), W(8), W(12));
  gb(v, W(1), W(5), W(9), W(13));
  gb(v, W(2), W(6), W(10), W(14));
  gb(v, W(3), W(7), W(11), W(15));
  gb(v, W(0), W(5), W(10), W(15));
  gb(v, W(1), W(6), W(11), W(12));
  gb(v, W(2), W(7), W(8), W(13));
  gb(v, W(3), W(4), W(9), W(14));
}

/** Scratch blocks for one argon2i() call (kept per call: no module-level mutable state). */
interface Scratch {
  R: Uint32Array;
  TMP: Uint32Array;
}

/** out = G(x, y) (xor'ed into out when withXor). */
function fill(
  sc: Scratch,
  x: Uint32Array,
  xo: number,
  y: Uint32Array,
  yo: number,
  out: Uint32Array,
  oo: number,
  withXor: boolean,
): void {
  const { R, TMP } = sc;
  for (let k = 0; k < 256; k++) R[k] = (x[xo + k] as number) ^ (y[yo + k] as number);
  TMP.set(R);
  if (withXor) for (let k = 0; k < 256; k++) TMP[k] = (TMP[k] as number) ^ (out[oo + k] as number);
  for (const w of PERMS) permute(R, w);
  for (let k = 0; k < 256; k++) out[oo + k] = (TMP[k] as number) ^ (R[k] as number);
}

function bytesToWords(b: Uint8Array, out: Uint32Array, off: number): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  for (let k = 0; k < 256; k++) out[off + k] = dv.getUint32(k * 4, true);
}

export interface Argon2Params {
  t: number;
  mKiB: number;
  tagLen: number;
}

/** Argon2i (type 1), version 0x13, parallelism 1, no secret, no associated data. */
export function argon2i(password: Uint8Array, salt: Uint8Array, p: Argon2Params): Uint8Array {
  const lanes = 1;
  const blocks = Math.max(8 * lanes, 4 * lanes * Math.floor(p.mKiB / (4 * lanes)));
  const laneLen = blocks;
  const segLen = laneLen / 4;
  const h0 = blake2b(
    concat(
      le32(lanes),
      le32(p.tagLen),
      le32(p.mKiB),
      le32(p.t),
      le32(0x13),
      le32(1),
      le32(password.length),
      password,
      le32(salt.length),
      salt,
      le32(0),
      le32(0),
    ),
    64,
  );
  const mem = new Uint32Array(blocks * 256);
  bytesToWords(hPrime(concat(h0, le32(0), le32(0)), 1024), mem, 0);
  bytesToWords(hPrime(concat(h0, le32(1), le32(0)), 1024), mem, 256);

  const sc: Scratch = { R: new Uint32Array(256), TMP: new Uint32Array(256) };
  const zero = new Uint32Array(256);
  const input = new Uint32Array(256);
  const addr = new Uint32Array(256);
  for (let pass = 0; pass < p.t; pass++) {
    for (let slice = 0; slice < 4; slice++) {
      input.fill(0);
      input[0] = pass;
      input[2] = 0; // lane
      input[4] = slice;
      input[6] = blocks;
      input[8] = p.t;
      input[10] = 1; // Argon2i
      const nextAddresses = () => {
        input[12] = (input[12] as number) + 1;
        fill(sc, zero, 0, input, 0, addr, 0, false);
        fill(sc, zero, 0, addr, 0, addr, 0, false);
      };
      let start = 0;
      if (pass === 0 && slice === 0) {
        start = 2;
        nextAddresses();
      }
      for (let i = start; i < segLen; i++) {
        const cur = slice * segLen + i;
        const prev = cur === 0 ? laneLen - 1 : cur - 1;
        if (i % 128 === 0) nextAddresses();
        const j1 = addr[(i % 128) * 2] as number;
        let area: number;
        if (pass === 0) area = slice === 0 ? i - 1 : slice * segLen + i - 1;
        else area = laneLen - segLen + i - 1;
        // area * x < 2^43, exact in a double; only j1 * j1 needs BigInt.
        const rel = area - 1 - Math.floor((area * squareHigh(j1)) / 0x100000000);
        const startPos = pass !== 0 && slice !== 3 ? (slice + 1) * segLen : 0;
        const ref = (startPos + rel) % laneLen;
        fill(sc, mem, prev * 256, mem, ref * 256, mem, cur * 256, pass !== 0);
      }
    }
  }
  const last = mem.subarray((laneLen - 1) * 256, laneLen * 256);
  const c = new Uint8Array(1024);
  const dv = new DataView(c.buffer);
  for (let k = 0; k < 256; k++) dv.setUint32(k * 4, last[k] as number, true);
  return hPrime(c, p.tagLen);
}

/** (j1 * j1) >> 32, exactly (a double is not exact above 2^53). */
function squareHigh(j1: number): number {
  const b = BigInt(j1);
  return Number((b * b) >> 32n);
}
