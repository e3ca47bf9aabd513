import { createHmac } from "node:crypto";
import { bigIntToBytes, bytesToBigInt, concat } from "./bytes.js";

/** Minimal secp256k1 ECDSA over BigInt: sign (RFC 6979 or a given nonce), verify, public-key recovery. */
export const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;
export const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const GX = 0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798n;
const GY = 0x483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8n;

type Jac = [bigint, bigint, bigint]; // Jacobian (X, Y, Z); Z = 0 is infinity
export type Point = { x: bigint; y: bigint };

const mod = (a: bigint, m: bigint) => {
  const r = a % m;
  return r >= 0n ? r : r + m;
};

function powMod(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  let x = mod(b, m);
  let k = e;
  while (k > 0n) {
    if (k & 1n) r = (r * x) % m;
    x = (x * x) % m;
    k >>= 1n;
  }
  return r;
}

export function invMod(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

function dbl([x, y, z]: Jac): Jac {
  if (z === 0n || y === 0n) return [0n, 1n, 0n];
  const yy = (y * y) % P;
  const s = (4n * x * yy) % P;
  const m = (3n * x * x) % P;
  const x3 = mod(m * m - 2n * s, P);
  const y3 = mod(m * (s - x3) - 8n * yy * yy, P);
  const z3 = (2n * y * z) % P;
  return [x3, y3, z3];
}

function add(p: Jac, q: Jac): Jac {
  if (p[2] === 0n) return q;
  if (q[2] === 0n) return p;
  const z1z1 = (p[2] * p[2]) % P;
  const z2z2 = (q[2] * q[2]) % P;
  const u1 = (p[0] * z2z2) % P;
  const u2 = (q[0] * z1z1) % P;
  const s1 = (p[1] * q[2] * z2z2) % P;
  const s2 = (q[1] * p[2] * z1z1) % P;
  if (u1 === u2) return s1 === s2 ? dbl(p) : [0n, 1n, 0n];
  const h = mod(u2 - u1, P);
  const r = mod(s2 - s1, P);
  const hh = (h * h) % P;
  const hhh = (h * hh) % P;
  const v = (u1 * hh) % P;
  const x3 = mod(r * r - hhh - 2n * v, P);
  const y3 = mod(r * (v - x3) - s1 * hhh, P);
  const z3 = (p[2] * q[2] * h) % P;
  return [x3, y3, z3];
}

function mul(pt: Point, k: bigint): Jac {
  let acc: Jac = [0n, 1n, 0n];
  let base: Jac = [pt.x, pt.y, 1n];
  let e = mod(k, N);
  while (e > 0n) {
    if (e & 1n) acc = add(acc, base);
    base = dbl(base);
    e >>= 1n;
  }
  return acc;
}

function affine(j: Jac): Point | undefined {
  if (j[2] === 0n) return undefined;
  const zi = invMod(j[2], P);
  const zi2 = (zi * zi) % P;
  return { x: (j[0] * zi2) % P, y: (j[1] * zi2 * zi) % P };
}

const G: Point = { x: GX, y: GY };

export function publicKey(priv: bigint): Point {
  const p = affine(mul(G, priv));
  if (!p) throw new RangeError("invalid private key");
  return p;
}

export function compress(p: Point): Uint8Array {
  return concat(Uint8Array.of(p.y & 1n ? 3 : 2), bigIntToBytes(p.x, 32));
}

/** RFC 6979 nonce (HMAC-SHA256) over the 32-byte message digest. */
function rfc6979(priv: bigint, digest: Uint8Array, attempt: number): bigint {
  const x = bigIntToBytes(priv, 32);
  const h = bigIntToBytes(mod(bytesToBigInt(digest), N), 32);
  let v = new Uint8Array(32).fill(1);
  let k = new Uint8Array(32);
  const hmac = (key: Uint8Array, ...d: Uint8Array[]) =>
    new Uint8Array(
      createHmac("sha256", key)
        .update(concat(...d))
        .digest(),
    );
  k = hmac(k, v, Uint8Array.of(0), x, h);
  v = hmac(k, v);
  k = hmac(k, v, Uint8Array.of(1), x, h);
  v = hmac(k, v);
  for (let i = 0; ; i++) {
    v = hmac(k, v);
    const t = bytesToBigInt(v);
    if (t >= 1n && t < N && i >= attempt) return t;
    k = hmac(k, v, Uint8Array.of(0));
    v = hmac(k, v);
  }
}

/**
 * Sign a 32-byte digest; returns r||s (64 bytes). With `k` the nonce is used as given and s is left as is
 * (reproduces python-ecdsa vectors); otherwise the nonce is RFC 6979 and s is normalised to low-s.
 */
export function sign(priv: bigint, digest: Uint8Array, k?: bigint): Uint8Array {
  const e = bytesToBigInt(digest);
  for (let attempt = 0; ; attempt++) {
    const nonce = k ?? rfc6979(priv, digest, attempt);
    const R = affine(mul(G, nonce));
    if (!R) throw new RangeError("bad nonce");
    const r = R.x % N;
    let s = (invMod(nonce, N) * (e + r * priv)) % N;
    if (r === 0n || s === 0n) {
      if (k !== undefined) throw new RangeError("bad nonce");
      continue;
    }
    if (k === undefined && s > N / 2n) s = N - s;
    return concat(bigIntToBytes(r, 32), bigIntToBytes(s, 32));
  }
}

/** Verify r||s against a digest (high-s accepted, as the reference produces it). */
export function verify(pub: Point, digest: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  const r = bytesToBigInt(sig.subarray(0, 32));
  const s = bytesToBigInt(sig.subarray(32));
  if (r <= 0n || r >= N || s <= 0n || s >= N) return false;
  const e = bytesToBigInt(digest);
  const w = invMod(s, N);
  const X = affine(add(mul(G, (e * w) % N), mul(pub, (r * w) % N)));
  return X !== undefined && X.x % N === r;
}

/** The public keys that could have made `sig` over `digest`, for recovery ids 0 and 1 (x = r only). */
export function recover(digest: Uint8Array, sig: Uint8Array): Point[] {
  if (sig.length !== 64) return [];
  const r = bytesToBigInt(sig.subarray(0, 32));
  const s = bytesToBigInt(sig.subarray(32));
  if (r <= 0n || r >= N || s <= 0n || s >= N) return [];
  const c = (powMod(r, 3n, P) + 7n) % P;
  const y0 = powMod(c, (P + 1n) / 4n, P);
  if ((y0 * y0) % P !== c) return [];
  const e = bytesToBigInt(digest);
  const rInv = invMod(r, N);
  const out: Point[] = [];
  for (const parity of [0n, 1n]) {
    const y = (y0 & 1n) === parity ? y0 : P - y0;
    const R: Point = { x: r, y };
    // Q = r^-1 (sR - eG)
    const Q = affine(add(mul(R, (s * rInv) % N), mul(G, mod(-e * rInv, N))));
    if (Q) out.push(Q);
  }
  return out;
}
