import { createHash } from "node:crypto";

/** ASCII encoding that silently drops non-ASCII code points (the reference's `to_b`). */
export function asciiBytes(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x80) out.push(c);
  }
  return Uint8Array.from(out);
}

/** True when every code point is 7-bit ASCII. */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function sha3(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha3-256").update(data).digest());
}

export function ripemd160(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("ripemd160").update(data).digest());
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
}

export function fromHex(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, "hex"));
}

export function bytesToBigInt(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${toHex(b)}`);
}

export function bigIntToBytes(n: bigint, len: number): Uint8Array {
  return fromHex(n.toString(16).padStart(len * 2, "0"));
}

/** Keystream XOR: stretch the key by appending SHA3(whole key so far), then XOR. */
export function otp(data: Uint8Array, key: Uint8Array): Uint8Array {
  let k = key;
  while (k.length < data.length) k = concat(k, sha3(k));
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] ?? 0) ^ (k[i] ?? 0);
  return out;
}

/** UTF-8 decode that drops invalid sequences (the reference's `to_s`). */
export function utf8Lossy(b: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: false }).decode(b).replace(/\uFFFD/g, "");
}
