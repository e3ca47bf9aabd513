/** P2PD's base-N codec: leading zero bytes become "0"+symbol pairs, the rest is a big-endian integer. */
export const A36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
export const A62 = `${A36}abcdefghijklmnopqrstuvwxyz`;
export const A92 = `${A62}~!@#$%^&*()_+{}"<>?\`-=[];',./|`;

export function baseEncode(data: Uint8Array, alpha: string): string {
  const base = alpha.length;
  let z = 0;
  while (z < data.length && data[z] === 0) z++;
  const q = Math.floor(z / (base - 1));
  const r = z % (base - 1);
  let out = `0${alpha[base - 1]}`.repeat(q) + (r > 0 ? `0${alpha[r]}` : "");
  if (z === data.length) return out;
  let n = 0n;
  for (const b of data) n = (n << 8n) | BigInt(b);
  const digits: string[] = [];
  const B = BigInt(base);
  while (n > 0n) {
    digits.push(alpha[Number(n % B)] as string);
    n /= B;
  }
  out += digits.reverse().join("");
  return out;
}

/** Inverse of baseEncode; returns undefined on a symbol outside the alphabet. */
export function baseDecode(text: string, alpha: string): Uint8Array | undefined {
  let zeros = 0;
  let t = text;
  while (t.startsWith("0") && t.length >= 2) {
    const i = alpha.indexOf(t[1] as string);
    if (i < 0) return undefined;
    zeros += i;
    t = t.slice(2);
  }
  // Guard against absurd zero runs from hostile input (topics are < 512 bytes anyway).
  if (zeros > 4096) return undefined;
  const B = BigInt(alpha.length);
  let n = 0n;
  for (const ch of t) {
    const i = alpha.indexOf(ch);
    if (i < 0) return undefined;
    n = n * B + BigInt(i);
  }
  let hex = n === 0n ? "" : n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const body = Buffer.from(hex, "hex");
  const out = new Uint8Array(zeros + body.length);
  out.set(body, zeros);
  return out;
}
