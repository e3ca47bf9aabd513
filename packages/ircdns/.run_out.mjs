// src/crypto/base-n.ts
var A36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
var A62 = `${A36}abcdefghijklmnopqrstuvwxyz`;
var A92 = `${A62}~!@#$%^&*()_+{}"<>?\`-=[];',./|`;
function baseEncode(data, alpha) {
  const base = alpha.length;
  let z = 0;
  while (z < data.length && data[z] === 0) z++;
  const q = Math.floor(z / (base - 1));
  const r2 = z % (base - 1);
  let out = `0${alpha[base - 1]}`.repeat(q) + (r2 > 0 ? `0${alpha[r2]}` : "");
  if (z === data.length) return out;
  let n = 0n;
  for (const b of data) n = n << 8n | BigInt(b);
  const digits = [];
  const B = BigInt(base);
  while (n > 0n) {
    digits.push(alpha[Number(n % B)]);
    n /= B;
  }
  out += digits.reverse().join("");
  return out;
}
function baseDecode(text, alpha) {
  let zeros = 0;
  let t = text;
  while (t.startsWith("0") && t.length >= 2) {
    const i = alpha.indexOf(t[1]);
    if (i < 0) return void 0;
    zeros += i;
    t = t.slice(2);
  }
  if (zeros > 4096) return void 0;
  const B = BigInt(alpha.length);
  let n = 0n;
  for (const ch of t) {
    const i = alpha.indexOf(ch);
    if (i < 0) return void 0;
    n = n * B + BigInt(i);
  }
  let hex = n === 0n ? "" : n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const body = Buffer.from(hex, "hex");
  const out = new Uint8Array(zeros + body.length);
  out.set(body, zeros);
  return out;
}

// src/crypto/blake2b.ts
var IV = new Uint32Array([
  4089235720,
  1779033703,
  2227873595,
  3144134277,
  4271175723,
  1013904242,
  1595750129,
  2773480762,
  2917565137,
  1359893119,
  725511199,
  2600822924,
  4215389547,
  528734635,
  327033209,
  1541459225
]);
var SIGMA = [
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  12,
  13,
  14,
  15,
  14,
  10,
  4,
  8,
  9,
  15,
  13,
  6,
  1,
  12,
  0,
  2,
  11,
  7,
  5,
  3,
  11,
  8,
  12,
  0,
  5,
  2,
  15,
  13,
  10,
  14,
  3,
  6,
  7,
  1,
  9,
  4,
  7,
  9,
  3,
  1,
  13,
  12,
  11,
  14,
  2,
  6,
  5,
  10,
  4,
  0,
  15,
  8,
  9,
  0,
  5,
  7,
  2,
  4,
  10,
  15,
  14,
  1,
  11,
  12,
  6,
  8,
  3,
  13,
  2,
  12,
  6,
  10,
  0,
  11,
  8,
  3,
  4,
  13,
  7,
  5,
  15,
  14,
  1,
  9,
  12,
  5,
  1,
  15,
  14,
  13,
  4,
  10,
  0,
  7,
  6,
  3,
  9,
  2,
  8,
  11,
  13,
  11,
  7,
  14,
  12,
  1,
  3,
  9,
  5,
  0,
  15,
  4,
  8,
  6,
  2,
  10,
  6,
  15,
  14,
  9,
  11,
  3,
  0,
  8,
  12,
  2,
  13,
  7,
  1,
  4,
  10,
  5,
  10,
  2,
  8,
  4,
  7,
  6,
  1,
  5,
  15,
  11,
  9,
  14,
  3,
  12,
  13,
  0
].map((x) => x * 2);
function add64(v, a, b) {
  const lo = v[a] + v[b];
  v[a + 1] = v[a + 1] + v[b + 1] + (lo >= 4294967296 ? 1 : 0);
  v[a] = lo;
}
function add64c(v, a, lo0, hi0) {
  const lo = v[a] + lo0;
  v[a + 1] = v[a + 1] + hi0 + (lo >= 4294967296 ? 1 : 0);
  v[a] = lo;
}
function g(v, m, a, b, c, d, ix, iy) {
  add64(v, a, b);
  add64c(v, a, m[ix], m[ix + 1]);
  let x0 = v[d] ^ v[a];
  let x1 = v[d + 1] ^ v[a + 1];
  v[d] = x1;
  v[d + 1] = x0;
  add64(v, c, d);
  x0 = v[b] ^ v[c];
  x1 = v[b + 1] ^ v[c + 1];
  v[b] = x0 >>> 24 ^ x1 << 8;
  v[b + 1] = x1 >>> 24 ^ x0 << 8;
  add64(v, a, b);
  add64c(v, a, m[iy], m[iy + 1]);
  x0 = v[d] ^ v[a];
  x1 = v[d + 1] ^ v[a + 1];
  v[d] = x0 >>> 16 ^ x1 << 16;
  v[d + 1] = x1 >>> 16 ^ x0 << 16;
  add64(v, c, d);
  x0 = v[b] ^ v[c];
  x1 = v[b + 1] ^ v[c + 1];
  v[b] = x1 >>> 31 ^ x0 << 1;
  v[b + 1] = x0 >>> 31 ^ x1 << 1;
}
function compress(h, block, t, last) {
  const v = new Uint32Array(32);
  const m = new Uint32Array(32);
  for (let i = 0; i < 16; i++) {
    v[i] = h[i];
    v[i + 16] = IV[i];
  }
  v[24] = v[24] ^ t;
  v[25] = v[25] ^ Math.floor(t / 4294967296);
  if (last) {
    v[28] = ~v[28];
    v[29] = ~v[29];
  }
  for (let i = 0; i < 32; i++) {
    const o = i * 4;
    m[i] = block[o] | block[o + 1] << 8 | block[o + 2] << 16 | block[o + 3] << 24;
  }
  for (let r2 = 0; r2 < 12; r2++) {
    const s = r2 % 10 * 16;
    const S = (k) => SIGMA[s + k];
    g(v, m, 0, 8, 16, 24, S(0), S(1));
    g(v, m, 2, 10, 18, 26, S(2), S(3));
    g(v, m, 4, 12, 20, 28, S(4), S(5));
    g(v, m, 6, 14, 22, 30, S(6), S(7));
    g(v, m, 0, 10, 20, 30, S(8), S(9));
    g(v, m, 2, 12, 22, 24, S(10), S(11));
    g(v, m, 4, 14, 16, 26, S(12), S(13));
    g(v, m, 6, 8, 18, 28, S(14), S(15));
  }
  for (let i = 0; i < 16; i++) h[i] = h[i] ^ v[i] ^ v[i + 16];
}
function blake2b(data, outLen) {
  const h = new Uint32Array(IV);
  h[0] = h[0] ^ 16842752 ^ outLen;
  const block = new Uint8Array(128);
  let off = 0;
  let t = 0;
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
  for (let i = 0; i < outLen; i++) out[i] = h[i >> 2] >>> 8 * (i & 3) & 255;
  return out;
}

// src/crypto/bytes.ts
import { createHash } from "node:crypto";
function asciiBytes(s) {
  const out = [];
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 128) out.push(c);
  }
  return Uint8Array.from(out);
}
function concat(...parts) {
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
function sha3(data) {
  return new Uint8Array(createHash("sha3-256").update(data).digest());
}
function ripemd160(data) {
  return new Uint8Array(createHash("ripemd160").update(data).digest());
}
function toHex(b) {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
}
function fromHex(h) {
  return new Uint8Array(Buffer.from(h, "hex"));
}
function bytesToBigInt(b) {
  return b.length === 0 ? 0n : BigInt(`0x${toHex(b)}`);
}
function bigIntToBytes(n, len) {
  return fromHex(n.toString(16).padStart(len * 2, "0"));
}
function otp(data, key) {
  let k = key;
  while (k.length < data.length) k = concat(k, sha3(k));
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] ?? 0) ^ (k[i] ?? 0);
  return out;
}
function utf8Lossy(b) {
  return new TextDecoder("utf-8", { fatal: false }).decode(b).replace(/\uFFFD/g, "");
}

// src/crypto/argon2i.ts
function le32(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
function hPrime(x, outLen) {
  const input = concat(le32(outLen), x);
  if (outLen <= 64) return blake2b(input, outLen);
  const out = new Uint8Array(outLen);
  const r2 = Math.ceil(outLen / 32) - 2;
  let v = blake2b(input, 64);
  out.set(v.subarray(0, 32), 0);
  for (let i = 1; i < r2; i++) {
    v = blake2b(v, 64);
    out.set(v.subarray(0, 32), i * 32);
  }
  v = blake2b(v, outLen - 32 * r2);
  out.set(v, 32 * r2);
  return out;
}
function fBlaMka(v, a, b) {
  const al = v[a];
  const bl = v[b];
  const a0 = al & 65535;
  const a1 = al >>> 16;
  const b0 = bl & 65535;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 65535) + (p10 & 65535);
  const pl = (mid << 16 | p00 & 65535) >>> 0;
  const ph = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) >>> 0;
  const pl2 = pl << 1 >>> 0;
  const ph2 = (ph << 1 | pl >>> 31) >>> 0;
  const lo = al + bl + pl2;
  v[a + 1] = v[a + 1] + v[b + 1] + ph2 + Math.floor(lo / 4294967296);
  v[a] = lo;
}
function gb(v, a, b, c, d) {
  fBlaMka(v, a, b);
  let x0 = v[d] ^ v[a];
  let x1 = v[d + 1] ^ v[a + 1];
  v[d] = x1;
  v[d + 1] = x0;
  fBlaMka(v, c, d);
  x0 = v[b] ^ v[c];
  x1 = v[b + 1] ^ v[c + 1];
  v[b] = x0 >>> 24 ^ x1 << 8;
  v[b + 1] = x1 >>> 24 ^ x0 << 8;
  fBlaMka(v, a, b);
  x0 = v[d] ^ v[a];
  x1 = v[d + 1] ^ v[a + 1];
  v[d] = x0 >>> 16 ^ x1 << 16;
  v[d + 1] = x1 >>> 16 ^ x0 << 16;
  fBlaMka(v, c, d);
  x0 = v[b] ^ v[c];
  x1 = v[b + 1] ^ v[c + 1];
  v[b] = x1 >>> 31 ^ x0 << 1;
  v[b + 1] = x0 >>> 31 ^ x1 << 1;
}
var PERMS = [];
for (let i = 0; i < 8; i++) PERMS.push(Array.from({ length: 16 }, (_, j) => (16 * i + j) * 2));
for (let i = 0; i < 8; i++) {
  const w = [];
  for (let j = 0; j < 8; j++) w.push((2 * i + 16 * j) * 2, (2 * i + 16 * j + 1) * 2);
  PERMS.push(w);
}
function permute(v, w) {
  const W = (k) => w[k];
  gb(v, W(0), W(4), W(8), W(12));
  gb(v, W(1), W(5), W(9), W(13));
  gb(v, W(2), W(6), W(10), W(14));
  gb(v, W(3), W(7), W(11), W(15));
  gb(v, W(0), W(5), W(10), W(15));
  gb(v, W(1), W(6), W(11), W(12));
  gb(v, W(2), W(7), W(8), W(13));
  gb(v, W(3), W(4), W(9), W(14));
}
var R = new Uint32Array(256);
var TMP = new Uint32Array(256);
function fill(x, xo, y, yo, out, oo, withXor) {
  for (let k = 0; k < 256; k++) R[k] = x[xo + k] ^ y[yo + k];
  TMP.set(R);
  if (withXor) for (let k = 0; k < 256; k++) TMP[k] = TMP[k] ^ out[oo + k];
  for (const w of PERMS) permute(R, w);
  for (let k = 0; k < 256; k++) out[oo + k] = TMP[k] ^ R[k];
}
function bytesToWords(b, out, off) {
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  for (let k = 0; k < 256; k++) out[off + k] = dv.getUint32(k * 4, true);
}
function argon2i(password, salt, p) {
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
      le32(19),
      le32(1),
      le32(password.length),
      password,
      le32(salt.length),
      salt,
      le32(0),
      le32(0)
    ),
    64
  );
  const mem = new Uint32Array(blocks * 256);
  bytesToWords(hPrime(concat(h0, le32(0), le32(0)), 1024), mem, 0);
  bytesToWords(hPrime(concat(h0, le32(1), le32(0)), 1024), mem, 256);
  const zero = new Uint32Array(256);
  const input = new Uint32Array(256);
  const addr = new Uint32Array(256);
  for (let pass = 0; pass < p.t; pass++) {
    for (let slice = 0; slice < 4; slice++) {
      input.fill(0);
      input[0] = pass;
      input[2] = 0;
      input[4] = slice;
      input[6] = blocks;
      input[8] = p.t;
      input[10] = 1;
      const nextAddresses = () => {
        input[12] = input[12] + 1;
        fill(zero, 0, input, 0, addr, 0, false);
        fill(zero, 0, addr, 0, addr, 0, false);
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
        const j1 = addr[i % 128 * 2];
        let area;
        if (pass === 0) area = slice === 0 ? i - 1 : slice * segLen + i - 1;
        else area = laneLen - segLen + i - 1;
        const rel = area - 1 - Math.floor(area * squareHigh(j1) / 4294967296);
        const startPos = pass !== 0 && slice !== 3 ? (slice + 1) * segLen : 0;
        const ref = (startPos + rel) % laneLen;
        fill(mem, prev * 256, mem, ref * 256, mem, cur * 256, pass !== 0);
      }
    }
  }
  const last = mem.subarray((laneLen - 1) * 256, laneLen * 256);
  const c = new Uint8Array(1024);
  const dv = new DataView(c.buffer);
  for (let k = 0; k < 256; k++) dv.setUint32(k * 4, last[k], true);
  return hPrime(c, p.tagLen);
}
function squareHigh(j1) {
  const b = BigInt(j1);
  return Number(b * b >> 32n);
}

// src/errors.ts
var IrcDnsError = class extends Error {
  code;
  constructor(code, message, options) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
};
var BadSeedError = class extends IrcDnsError {
  constructor(message) {
    super("ERR_IRCDNS_BAD_SEED", message);
  }
};
var BadNameError = class extends IrcDnsError {
  constructor(message) {
    super("ERR_IRCDNS_BAD_NAME", message);
  }
};
var BadValueError = class extends IrcDnsError {
  constructor(message) {
    super("ERR_IRCDNS_BAD_VALUE", message);
  }
};
var ValueTooLargeError = class extends IrcDnsError {
  maxBytes;
  constructor(message, maxBytes) {
    super("ERR_IRCDNS_VALUE_TOO_LARGE", message);
    this.maxBytes = maxBytes;
  }
};
var BadServerError = class extends IrcDnsError {
  constructor(message) {
    super("ERR_IRCDNS_BAD_SERVER", message);
  }
};
var NoQuorumError = class extends IrcDnsError {
  needed;
  got;
  constructor(message, needed, got) {
    super("ERR_IRCDNS_NO_QUORUM", message);
    this.needed = needed;
    this.got = got;
  }
};
var NameTakenError = class extends IrcDnsError {
  constructor(message) {
    super("ERR_IRCDNS_TAKEN", message);
  }
};
var NotFoundError = class extends IrcDnsError {
  constructor(message) {
    super("ERR_IRCDNS_NOT_FOUND", message);
  }
};
var BadTopicError = class extends IrcDnsError {
  constructor(message) {
    super("ERR_IRCDNS_BAD_TOPIC", message);
  }
};
var SessionError = class extends IrcDnsError {
  constructor(code, message, options) {
    super(code, message, options);
  }
};
var AbortedError = class extends IrcDnsError {
  constructor(message = "operation aborted", options) {
    super("ERR_IRCDNS_ABORTED", message, options);
  }
};
var ClosedError = class extends IrcDnsError {
  constructor() {
    super("ERR_IRCDNS_CLOSED", "IRCDNS instance is closed");
  }
};

// src/derive.ts
var PREFIX = asciiBytes("20");
var SALT = asciiBytes("IRCDNS - improve entropy for weak seeds.");
var POW_SALT = asciiBytes("Ana main, chicken tikka masala, Blush - Wolf Alice");
var TOPIC_TAG = "p2pd.net/irc";
var MIN_SEED_BYTES = 24;
var KEY_LIMIT = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
function checkSeed(seed) {
  if (!(seed instanceof Uint8Array)) throw new BadSeedError("seed must be a Uint8Array/Buffer");
  if (seed.length < MIN_SEED_BYTES) {
    throw new BadSeedError(`seed must be at least ${MIN_SEED_BYTES} bytes, got ${seed.length}`);
  }
  return seed;
}
function field(label, domain, seed) {
  return sha3(concat(PREFIX, asciiBytes(label), asciiBytes(domain), SALT, seed));
}
function deriveAccount(seed, domain) {
  checkSeed(seed);
  return {
    username: `u${baseEncode(field(":user:", domain, seed), A36).slice(0, 7)}`,
    nick: `n${baseEncode(field(":nick:", domain, seed), A36).slice(0, 7)}`,
    password: baseEncode(field(":pass:", domain, seed), A62).slice(0, 30),
    email: `e${baseEncode(field(":email:", domain, seed), A36).slice(0, 15)}@p2pd.net`
  };
}
function cacheFileName(seed) {
  checkSeed(seed);
  return `ircdns_${toHex(sha3(concat(PREFIX, asciiBytes("db"), SALT, seed)))}.json`;
}
function timeLockInput(name2, tld, pw, domain) {
  return asciiBytes(`${name2} ${tld} ${pw} ${domain}`);
}
function deriveTimeLock(name2, tld, pw, domain) {
  return argon2i(timeLockInput(name2, tld, pw, domain), POW_SALT, { t: 2, mKiB: 2048, tagLen: 32 });
}
function channelFromTimeLock(m, timeLock) {
  return `#${baseEncode(ripemd160(sha3(concat(m, timeLock))), A36).slice(0, 31).toLowerCase()}`;
}
function deriveChannel(name2, tld, pw, domain) {
  const timeLock = deriveTimeLock(name2, tld, pw, domain);
  return { chan: channelFromTimeLock(timeLockInput(name2, tld, pw, domain), timeLock), timeLock };
}
function deriveSigningKey(name2, tld, pw, seed) {
  checkSeed(seed);
  let x = sha3(concat(asciiBytes(`${name2}${tld}${pw}`), SALT, seed));
  let rounds = 1;
  while (bytesToBigInt(x) > KEY_LIMIT) {
    x = sha3(x);
    rounds++;
  }
  return { priv: bytesToBigInt(x), rounds };
}

// src/ircdns.ts
import { randomBytes } from "node:crypto";
import { homedir } from "node:os";
import { join as join2 } from "node:path";

// src/cache.ts
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
var empty = () => ({ version: 1, servers: {}, channels: {} });
function sanitize(x) {
  if (typeof x !== "object" || x === null) return empty();
  const o = x;
  if (o.version !== 1 || typeof o.servers !== "object" || typeof o.channels !== "object")
    return empty();
  return { version: 1, servers: { ...o.servers ?? {} }, channels: { ...o.channels ?? {} } };
}
var JsonCache = class {
  constructor(file) {
    this.file = file;
  }
  file;
  data = empty();
  writing = Promise.resolve();
  /** Load the file; a missing or corrupt file starts empty (it is only a cache). */
  async load() {
    if (!this.file) return;
    try {
      this.data = sanitize(JSON.parse(await readFile(this.file, "utf8")));
    } catch {
      this.data = empty();
    }
  }
  /** Write atomically (temp file + rename), mode 0600, one write at a time. */
  save() {
    const file = this.file;
    if (!file) return Promise.resolve();
    const body = JSON.stringify(this.data, null, 1);
    this.writing = this.writing.then(async () => {
      await mkdir(dirname(file), { recursive: true, mode: 448 });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, body, { mode: 384 });
      await rename(tmp, file);
    });
    return this.writing;
  }
};

// src/line.ts
function parseLine(raw) {
  let s = raw.replace(/[\r\n]+$/, "");
  if (s.length === 0 || s.length > 8704) return void 0;
  if (s.startsWith("@")) {
    const sp = s.indexOf(" ");
    if (sp < 0) return void 0;
    s = s.slice(sp + 1).trimStart();
  }
  let source = "";
  if (s.startsWith(":")) {
    const sp = s.indexOf(" ");
    if (sp < 0) return void 0;
    const prefix = s.slice(1, sp);
    source = prefix.split("!")[0] ?? "";
    s = s.slice(sp + 1).trimStart();
  }
  const params = [];
  let command = "";
  while (s.length > 0) {
    if (command !== "" && s.startsWith(":")) {
      params.push(s.slice(1));
      break;
    }
    const sp = s.indexOf(" ");
    const tok = sp < 0 ? s : s.slice(0, sp);
    if (command === "") command = tok.toUpperCase();
    else params.push(tok);
    s = sp < 0 ? "" : s.slice(sp + 1).replace(/^ +/, "");
  }
  if (!/^([A-Z]+|\d{3})$/.test(command)) return void 0;
  return { source, command, params };
}
function stripFormatting(s) {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 3) {
      const m = /^(\d{1,2}(,\d{1,2})?)?/.exec(s.slice(i + 1));
      i += m?.[0].length ?? 0;
      continue;
    }
    if (FORMAT_CODES.has(c)) continue;
    out += s[i];
  }
  return out;
}
var FORMAT_CODES = /* @__PURE__ */ new Set([2, 15, 17, 22, 29, 30, 31]);
function ircLower(s) {
  return s.toLowerCase().replace(/\[/g, "{").replace(/\]/g, "}").replace(/\\/g, "|").replace(/~/g, "^");
}

// src/names.ts
var NAME_RE = /^[\x21-\x7e]{1,64}$/;
var PW_RE = /^[\x20-\x7e]{0,128}$/;
function parseName(input) {
  let n;
  if (typeof input === "string") {
    const i = input.lastIndexOf(".");
    if (i <= 0 || i === input.length - 1) throw new BadNameError(`"${input}" is not NAME.TLD`);
    n = { name: input.slice(0, i), tld: input.slice(i + 1), pw: "" };
  } else if (Array.isArray(input)) {
    n = { name: input[0], tld: input[1], pw: input[2] ?? "" };
  } else if (typeof input === "object" && input !== null) {
    const o = input;
    n = { name: o.name, tld: o.tld, pw: o.pw ?? "" };
  } else {
    throw new BadNameError("name must be [name, tld, pw?], {name, tld, pw?} or 'name.tld'");
  }
  for (const [k, v] of [
    ["name", n.name],
    ["tld", n.tld]
  ]) {
    if (typeof v !== "string" || !NAME_RE.test(v)) {
      throw new BadNameError(`${k} must be 1-64 printable ASCII characters without spaces`);
    }
  }
  if (typeof n.pw !== "string" || !PW_RE.test(n.pw)) {
    throw new BadNameError("pw must be 0-128 printable ASCII characters");
  }
  return n;
}
function checkValue(value) {
  if (typeof value !== "string") throw new BadValueError("value must be a string");
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 126 || c === 0) throw new BadValueError("value must be ASCII without NUL");
  }
  return value;
}

// src/quorum.ts
function quorum(n) {
  const f = Math.floor(2 * n / 5);
  return { servers: n, registerFailureMax: f, registerSuccessMin: n - f, lookupSuccessMin: f + 1 };
}
function decide(votes, need) {
  const groups = /* @__PURE__ */ new Map();
  for (const v of votes) {
    for (const id of new Set(v.ids)) {
      let g2 = groups.get(id);
      if (!g2) {
        g2 = /* @__PURE__ */ new Map();
        groups.set(id, g2);
      }
      const prev = g2.get(v.server);
      if (!prev || v.time > prev.time) g2.set(v.server, v);
    }
  }
  let best;
  for (const e of groups) if (!best || e[1].size > best[1].size) best = e;
  if (!best || best[1].size < need) return void 0;
  let newest;
  for (const v of best[1].values()) if (!newest || v.time > newest.time) newest = v;
  if (!newest) return void 0;
  return { value: newest.value, time: newest.time, signer: best[0], servers: [...best[1].keys()] };
}

// src/servers.ts
var DEFAULT_SERVERS = Object.freeze([
  "ircs://irc.phat-net.de:6697",
  "ircs://irc.tweakers.net:6697",
  "ircs://irc.swiftirc.net:6697",
  "ircs://irc.euirc.net:6697",
  "ircs://irc.darkmyst.org:6697"
]);
function parseServer(input) {
  if (typeof input === "object" && input !== null) {
    const tls2 = input.tls ?? false;
    const port2 = input.port ?? (tls2 ? 6697 : 6667);
    return build(input.host, port2, tls2, input.domain);
  }
  if (typeof input !== "string") throw new BadServerError("server must be a string or object");
  let s = input.trim();
  let tls = false;
  const scheme = /^([a-z]+):\/\//i.exec(s);
  if (scheme) {
    const sch = scheme[1].toLowerCase();
    if (sch !== "irc" && sch !== "ircs") throw new BadServerError(`unknown scheme in ${input}`);
    tls = sch === "ircs";
    s = s.slice(scheme[0].length).replace(/\/+$/, "");
  }
  let host;
  let portStr;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1];
    portStr = v6[2];
  } else {
    const parts = s.split(":");
    if (parts.length > 2) throw new BadServerError(`IPv6 hosts need brackets: ${input}`);
    host = parts[0];
    portStr = parts[1];
  }
  const port = portStr === void 0 ? tls ? 6697 : 6667 : Number(portStr);
  return build(host, port, tls, void 0);
}
function build(host, port, tls, domain) {
  if (!host || !/^[A-Za-z0-9.\-:%_]+$/.test(host)) throw new BadServerError(`bad host "${host}"`);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new BadServerError(`bad port ${port}`);
  const hostPort = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const d = domain ?? (port === 6667 || port === 6697 ? host : hostPort);
  return { host, port, tls, domain: d, label: `${tls ? "ircs://" : ""}${hostPort}` };
}
function parseServerList(list) {
  const items = list.split(",").map((x) => x.trim()).filter(Boolean);
  if (items.length === 0) throw new BadServerError("empty server list");
  return items.map(parseServer);
}

// src/util.ts
function withDeadline(run, opts) {
  const ctl = new AbortController();
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (fn) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      ctl.abort();
      fn();
    };
    const onAbort = () => finish(() => reject(new AbortedError(`${opts.what}: aborted`)));
    const timer = setTimeout(
      () => finish(
        () => reject(
          new SessionError(
            opts.code ?? "ERR_IRCDNS_TIMEOUT",
            `${opts.what}: no answer in ${opts.timeoutMs} ms`
          )
        )
      ),
      opts.timeoutMs
    );
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    run({ signal: ctl.signal }).then(
      (v) => finish(() => resolve(v)),
      (e) => finish(() => reject(e))
    );
  });
}
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortedError());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// src/services.ts
var BUSY = /too busy|please wait|wait (\d+) seconds|try again later|flood protection/i;
var NICK_OK = /^Nickname \S+ registered|is now registered to|now identified for|you are now recognized|now logged in as|already identified/i;
var NICK_EXISTS = /already registered|nickname is registered|registered and protected/i;
var NICK_BAD = /password incorrect|invalid password|incorrect password|access denied|authentication failed/i;
function checkServiceMissing(s, l, service) {
  if ((l.command === "401" || l.command === "440") && ircLower(l.params[1] ?? "") === ircLower(service)) {
    throw new SessionError(
      "ERR_IRCDNS_NO_SERVICES",
      `${s.server.label}: ${service} is not available`
    );
  }
}
function busyDelay(text) {
  const m = /(\d+) seconds/.exec(text);
  return Math.min(6e4, Math.max(2e3, m ? Number(m[1]) * 1e3 + 500 : 5e3));
}
async function login(s, acct, t, signal) {
  if (s.loggedIn) return "sasl";
  return s.exclusive(async () => {
    for (let attempt = 0; ; attempt++) {
      let identifying = false;
      const r2 = await s.request(
        () => s.sendService("NickServ", `REGISTER ${acct.password} ${acct.email}`),
        (l) => {
          if (l.command === "900")
            return { kind: "ok", how: identifying ? "identified" : "registered" };
          const n = s.serviceNotice(l, "NickServ");
          if (n === void 0) return void 0;
          if (NICK_OK.test(n))
            return { kind: "ok", how: identifying ? "identified" : "registered" };
          if (BUSY.test(n)) return { kind: "busy", text: n };
          if (NICK_BAD.test(n))
            throw new SessionError(
              "ERR_IRCDNS_LOGIN",
              `${s.server.label}: NickServ refused the password`
            );
          if (!identifying && NICK_EXISTS.test(n)) {
            identifying = true;
            s.sendService("NickServ", `IDENTIFY ${acct.password}`).catch(() => {
            });
          }
          return void 0;
        },
        { timeoutMs: t.serviceMs * 2, signal, what: "NickServ login" }
      );
      if (r2.kind === "ok") {
        s.loggedIn = true;
        return r2.how ?? "registered";
      }
      if (attempt >= 3)
        throw new SessionError("ERR_IRCDNS_SERVICES_BUSY", `${s.server.label}: NickServ busy`);
      await sleep(busyDelay(r2.text ?? ""), signal);
    }
  });
}
function detect(text) {
  if (/Information for channel|isn't registered|registered under your/i.test(text)) return "anope";
  if (/Information on|is not registered|is now registered to/i.test(text)) return "atheme";
  return void 0;
}
var esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
function chanInfo(s, chan, t, signal) {
  const notReg = new RegExp(`${esc(chan)}\\S* (isn't|is not) registered`, "i");
  return s.exclusive(
    () => s.request(
      () => s.sendService("ChanServ", `INFO ${chan}`),
      (l) => {
        checkServiceMissing(s, l, "ChanServ");
        const n = s.serviceNotice(l, "ChanServ");
        if (n === void 0) return void 0;
        const d = detect(n);
        if (d) s.setDialect(d);
        if (notReg.test(n)) return { registered: false };
        const f = /^\s*Founder\s*:\s*(\S+)/i.exec(n);
        if (f) return { registered: true, founder: f[1] };
        if (BUSY.test(n))
          throw new SessionError("ERR_IRCDNS_SERVICES_BUSY", `${s.server.label}: ChanServ: ${n}`);
        if (/forbidden|suspended|cannot be registered/i.test(n))
          return { registered: true, founder: void 0 };
        return void 0;
      },
      { timeoutMs: t.serviceMs, signal, what: `ChanServ INFO ${chan}` }
    )
  );
}
async function join(s, chan, t, signal) {
  const lc = ircLower(chan);
  if (s.joined.has(lc)) return;
  await s.request(
    () => s.send(`JOIN ${chan}`),
    (l) => {
      if (l.command === "366" && ircLower(l.params[1] ?? "") === lc) return true;
      if (/^(403|405|471|473|474|475|476|477|479)$/.test(l.command) && ircLower(l.params[1] ?? "") === lc) {
        throw new SessionError(
          "ERR_IRCDNS_JOIN",
          `${s.server.label}: cannot join ${chan} (${l.command} ${l.params.at(-1) ?? ""})`
        );
      }
      return void 0;
    },
    { timeoutMs: t.serviceMs, signal, what: `JOIN ${chan}` }
  );
}
async function registerChan(s, chan, t, signal) {
  await join(s, chan, t, signal);
  try {
    await s.exclusive(async () => {
      for (let attempt = 0; ; attempt++) {
        const r2 = await s.request(
          () => s.sendService("ChanServ", `REGISTER ${chan}`),
          (l) => {
            checkServiceMissing(s, l, "ChanServ");
            const n = s.serviceNotice(l, "ChanServ");
            if (n === void 0) return void 0;
            const d = detect(n);
            if (d) s.setDialect(d);
            if (/registered under your|is now registered to/i.test(n)) return "ok";
            if (/already registered/i.test(n)) {
              if (new RegExp(`to ${esc(s.nick)}\\b`, "i").test(n)) return "mine";
              throw new NameTakenError(`${s.server.label}: ${chan} is already registered`);
            }
            if (BUSY.test(n)) return "busy";
            if (/channel operator|must be (an )?op|not on that channel|you need|not allowed|permission/i.test(
              n
            )) {
              throw new NameTakenError(`${s.server.label}: cannot register ${chan}: ${n}`);
            }
            if (/too many|maximum|limit/i.test(n)) {
              throw new SessionError("ERR_IRCDNS_CHANNEL_LIMIT", `${s.server.label}: ${n}`);
            }
            if (/syntax|invalid|denied|must|cannot|can't|unknown/i.test(n)) {
              throw new SessionError("ERR_IRCDNS_REGISTER", `${s.server.label}: ChanServ: ${n}`);
            }
            return void 0;
          },
          { timeoutMs: t.serviceMs, signal, what: `ChanServ REGISTER ${chan}` }
        );
        if (r2 !== "busy") break;
        if (attempt >= 3)
          throw new SessionError("ERR_IRCDNS_SERVICES_BUSY", `${s.server.label}: ChanServ busy`);
        await sleep(5e3, signal);
      }
      const sets = s.dialect === "atheme" ? [`SET ${chan} KEEPTOPIC ON`, `SET ${chan} TOPICLOCK ON`] : [`TOPIC ${chan} LOCK`];
      for (const cmd of sets) {
        await s.request(
          () => s.sendService("ChanServ", cmd),
          (l) => s.serviceNotice(l, "ChanServ") !== void 0 ? true : void 0,
          { timeoutMs: Math.min(t.serviceMs, 3e3), signal, what: `ChanServ ${cmd}` }
        ).catch(() => void 0);
      }
    });
    await s.send(`MODE ${chan} +s`).catch(() => {
    });
  } finally {
  }
}
async function setTopic(s, chan, topic, t, signal) {
  const lc = ircLower(chan);
  await join(s, chan, t, signal);
  try {
    await s.exclusive(
      () => s.request(
        () => s.sendService("ChanServ", `TOPIC ${chan} ${topic}`),
        (l) => {
          checkServiceMissing(s, l, "ChanServ");
          if (l.command === "TOPIC" && ircLower(l.params[0] ?? "") === lc) {
            if (l.params[1] === topic) return true;
            if ((l.params[1] ?? "").length < topic.length && topic.startsWith(l.params[1] ?? "\0")) {
              throw new SessionError(
                "ERR_IRCDNS_TOPIC_TRUNCATED",
                `${s.server.label}: topic was truncated`
              );
            }
            return void 0;
          }
          const n = s.serviceNotice(l, "ChanServ");
          if (n !== void 0 && /access denied|not registered|permission|syntax|invalid|unknown/i.test(n)) {
            throw new SessionError(
              "ERR_IRCDNS_TOPIC",
              `${s.server.label}: ChanServ TOPIC failed: ${n}`
            );
          }
          return void 0;
        },
        { timeoutMs: t.serviceMs, signal, what: `ChanServ TOPIC ${chan}` }
      )
    );
  } finally {
  }
}
async function readTopic(s, chan, t, signal) {
  const lc = ircLower(chan);
  const wasJoined = s.joined.has(lc);
  let restoreTimer;
  try {
    return await s.request(
      // Already a member: ask directly (332, or 331 when the channel really has no topic).
      () => s.send(wasJoined ? `TOPIC ${chan}` : `JOIN ${chan}`),
      (l, settle) => {
        const is332 = l.command === "332" && ircLower(l.params[1] ?? "") === lc;
        const isTopic = l.command === "TOPIC" && ircLower(l.params[0] ?? "") === lc;
        if (is332 || isTopic) {
          const v = is332 ? l.params[2] : l.params[1];
          return v ? { topic: v } : void 0;
        }
        if (wasJoined && l.command === "331" && ircLower(l.params[1] ?? "") === lc)
          return { topic: void 0 };
        if ((l.command === "366" || l.command === "331") && ircLower(l.params[1] ?? "") === lc && !restoreTimer) {
          restoreTimer = setTimeout(() => settle({ topic: void 0 }), t.topicRestoreMs);
        }
        if (/^(403|405|442|471|473|474|475|476|477|479)$/.test(l.command) && ircLower(l.params[1] ?? "") === lc) {
          throw new SessionError(
            "ERR_IRCDNS_JOIN",
            `${s.server.label}: cannot join ${chan} (${l.command})`
          );
        }
        return void 0;
      },
      { timeoutMs: t.serviceMs + t.topicRestoreMs, signal, what: `read topic ${chan}` }
    ).then((r2) => r2.topic);
  } finally {
    if (restoreTimer) clearTimeout(restoreTimer);
    if (!wasJoined && !s.closed) {
      s.joined.delete(lc);
      s.send(`PART ${chan}`).catch(() => {
      });
    }
  }
}

// src/session.ts
import IRC from "irc-framework";

// src/pacer.ts
var Pacer = class {
  limit;
  windowMs;
  sent = [];
  chain = Promise.resolve();
  wakers = /* @__PURE__ */ new Set();
  closed = false;
  constructor(limit, windowMs) {
    this.limit = limit;
    this.windowMs = windowMs;
  }
  /** Change the limits (e.g. once the services package is known); waiters re-check at once. */
  reconfigure(limit, windowMs) {
    this.limit = limit;
    this.windowMs = windowMs;
    for (const w of [...this.wakers]) w();
  }
  /** Resolves when a send is allowed; rejects once closed. */
  take() {
    const next = this.chain.then(() => this.takeOne());
    this.chain = next.catch(() => {
    });
    return next;
  }
  async takeOne() {
    for (; ; ) {
      if (this.closed) throw new Error("pacer closed");
      const now = Date.now();
      while (this.sent.length > 0 && now - this.sent[0] >= this.windowMs)
        this.sent.shift();
      if (this.sent.length < this.limit) {
        this.sent.push(now);
        return;
      }
      const wait = this.sent[0] + this.windowMs - now;
      await new Promise((resolve) => {
        const wake = () => {
          clearTimeout(t);
          this.wakers.delete(wake);
          resolve();
        };
        const t = setTimeout(wake, Math.max(1, wait));
        this.wakers.add(wake);
      });
    }
  }
  close() {
    this.closed = true;
    for (const w of [...this.wakers]) w();
  }
};

// src/session.ts
var MAX_LINE = 510;
var IrcSession = class _IrcSession {
  server;
  nick;
  serverName = "";
  /** ISUPPORT TOPICLEN (307, InspIRCd's default, until the server says otherwise). */
  topicLen = 307;
  /** 900 RPL_LOGGEDIN seen (SASL or NickServ). */
  loggedIn = false;
  dialect = "unknown";
  /** Channels we are in (lowercased), from our own JOIN/PART/KICK echoes. */
  joined = /* @__PURE__ */ new Set();
  client;
  listeners = /* @__PURE__ */ new Set();
  closeWaiters = /* @__PURE__ */ new Set();
  pacer = new Pacer(10, 2e3);
  servicePacer;
  lock = Promise.resolve();
  closedErr;
  closePromise;
  resolveClose;
  log;
  constructor(server, o) {
    this.server = server;
    this.nick = o.nick;
    this.log = o.log ?? (() => {
    });
    this.servicePacer = new Pacer(6, 11e3);
    this.closePromise = new Promise((r2) => {
      this.resolveClose = r2;
    });
    this.client = new IRC.Client();
    this.client.on("raw", (ev) => {
      if (process.env.IRCDNS_TRACE)
        this.log(`${server.label} ${ev.from_server ? "<<" : ">>"} ${ev.line.trim()}`);
      if (!ev.from_server) return;
      const l = parseLine(ev.line);
      if (!l) return;
      this.onLine(l);
      for (const fn of [...this.listeners]) fn(l);
    });
    this.client.on(
      "close",
      () => this.markClosed(
        new SessionError("ERR_IRCDNS_DISCONNECTED", `${server.label}: connection closed`)
      )
    );
    this.client.on("socket close", (err) => {
      this.markClosed(
        new SessionError(
          "ERR_IRCDNS_DISCONNECTED",
          `${server.label}: connection closed${err ? ` (${err.message})` : ""}`,
          {
            cause: err
          }
        )
      );
    });
    this.client.on(
      "error",
      (err) => this.markClosed(new SessionError("ERR_IRCDNS_DISCONNECTED", err.message))
    );
  }
  /** Connect and wait for 001 (and the SASL outcome, which irc-framework settles before 001). */
  static async connect(server, o) {
    const s = new _IrcSession(server, o);
    try {
      await withDeadline(
        () => new Promise((resolve, reject) => {
          s.client.once("registered", () => resolve());
          s.onClose(reject);
          s.listeners.add((l) => {
            if (l.command === "433")
              reject(
                new SessionError(
                  "ERR_IRCDNS_NICK_IN_USE",
                  `${server.label}: nick ${o.nick} in use`
                )
              );
            if (l.command === "465" || l.command === "ERROR")
              reject(
                new SessionError(
                  "ERR_IRCDNS_REFUSED",
                  `${server.label}: ${l.params.at(-1) ?? "refused"}`
                )
              );
          });
          s.client.connect({
            host: server.host,
            port: server.port,
            tls: server.tls,
            rejectUnauthorized: o.tlsVerify,
            nick: o.nick,
            username: o.username,
            gecos: o.username,
            auto_reconnect: false,
            ping_interval: 30,
            ping_timeout: 60,
            message_max_length: MAX_LINE,
            // No CTCP VERSION answer: it would only fingerprint IRCDNS clients (spec 12.2).
            version: null,
            ...o.sasl ? { account: o.sasl } : {}
          });
        }),
        {
          signal: o.signal,
          timeoutMs: o.connectTimeoutMs,
          what: `${server.label}: connect`,
          code: "ERR_IRCDNS_CONNECT"
        }
      );
    } catch (e) {
      await s.close();
      if (e instanceof AbortedError) throw e;
      if (e instanceof SessionError && e.code !== "ERR_IRCDNS_DISCONNECTED") throw e;
      throw new SessionError(
        "ERR_IRCDNS_CONNECT",
        `${server.label}: cannot connect (${e.message})`,
        { cause: e }
      );
    }
    return s;
  }
  get closed() {
    return this.closedErr !== void 0;
  }
  onLine(l) {
    if (l.command === "001") {
      this.serverName = l.source;
      if (l.params[0]) this.nick = l.params[0];
    } else if (l.command === "005") {
      for (const p of l.params.slice(1, -1)) {
        const m = /^TOPICLEN=(\d+)$/i.exec(p);
        if (m) this.topicLen = Number(m[1]);
      }
    } else if (l.command === "900") {
      this.loggedIn = true;
    } else if (l.command === "NICK" && ircLower(l.source) === ircLower(this.nick) && l.params[0]) {
      this.nick = l.params[0];
    } else if (l.command === "JOIN" && ircLower(l.source) === ircLower(this.nick) && l.params[0]) {
      this.joined.add(ircLower(l.params[0]));
    } else if (l.command === "PART" && ircLower(l.source) === ircLower(this.nick) && l.params[0]) {
      this.joined.delete(ircLower(l.params[0]));
    } else if (l.command === "KICK" && ircLower(l.params[1] ?? "") === ircLower(this.nick) && l.params[0]) {
      this.joined.delete(ircLower(l.params[0]));
    } else if (l.command === "ERROR") {
      this.markClosed(
        new SessionError(
          "ERR_IRCDNS_DISCONNECTED",
          `${this.server.label}: ${l.params[0] ?? "ERROR"}`
        )
      );
    }
  }
  markClosed(err) {
    if (this.closedErr) return;
    this.closedErr = err;
    this.pacer.close();
    this.servicePacer.close();
    for (const w of [...this.closeWaiters]) w(err);
    this.closeWaiters.clear();
    this.resolveClose();
  }
  onClose(fn) {
    if (this.closedErr) {
      fn(this.closedErr);
      return () => {
      };
    }
    this.closeWaiters.add(fn);
    return () => this.closeWaiters.delete(fn);
  }
  /** Atheme floods after 7 service messages in 10 s; Anope and unknown services get a faster pace. */
  setDialect(d) {
    if (d === this.dialect) return;
    this.dialect = d;
    if (d === "anope") this.servicePacer.reconfigure(10, 2e3);
  }
  /** Send one raw line through the pacer. Refuses lines over 510 bytes (never split, never cut). */
  async send(line) {
    if (/[\r\n\0]/.test(line))
      throw new SessionError("ERR_IRCDNS_BAD_LINE", "line contains CR/LF/NUL");
    if (Buffer.byteLength(line) > MAX_LINE) {
      throw new SessionError(
        "ERR_IRCDNS_LINE_TOO_LONG",
        `line of ${Buffer.byteLength(line)} bytes exceeds ${MAX_LINE}`
      );
    }
    if (this.closedErr) throw this.closedErr;
    await this.pacer.take().catch(() => {
      throw this.closedErr ?? new SessionError("ERR_IRCDNS_DISCONNECTED", "closed");
    });
    this.client.raw(line);
  }
  /** PRIVMSG to a service, additionally paced for services' flood protection. */
  async sendService(service, text) {
    if (this.closedErr) throw this.closedErr;
    await this.servicePacer.take().catch(() => {
      throw this.closedErr ?? new SessionError("ERR_IRCDNS_DISCONNECTED", "closed");
    });
    await this.send(`PRIVMSG ${service} :${text}`);
  }
  /**
   * Wait for the first line for which `pick` returns a value (or throws). Listening starts before `start`
   * runs, so quick replies to what `start` sends are not missed.
   */
  async request(start, pick, o) {
    if (this.closedErr) throw this.closedErr;
    let off;
    let listener;
    try {
      return await withDeadline(
        () => new Promise((resolve, reject) => {
          off = this.onClose(reject);
          listener = (l) => {
            try {
              const v = pick(l, resolve);
              if (v !== void 0) resolve(v);
            } catch (e) {
              reject(e);
            }
          };
          this.listeners.add(listener);
          start().catch(reject);
        }),
        { signal: o.signal, timeoutMs: o.timeoutMs, what: `${this.server.label}: ${o.what}` }
      );
    } finally {
      off?.();
      if (listener) this.listeners.delete(listener);
    }
  }
  /** Run service dialogs one at a time, so replies cannot be attributed to the wrong request. */
  exclusive(fn) {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => {
    });
    return run;
  }
  /** A NOTICE from `service` to us, formatting stripped; undefined for any other line. */
  serviceNotice(l, service) {
    if (l.command !== "NOTICE") return void 0;
    if (ircLower(l.source) !== ircLower(service)) return void 0;
    if (ircLower(l.params[0] ?? "") !== ircLower(this.nick)) return void 0;
    return stripFormatting(l.params[1] ?? "");
  }
  /** QUIT, wait briefly for the server to close, then force the socket shut. Idempotent. */
  async close() {
    if (!this.closedErr) {
      try {
        if (this.client.connection.connected) this.client.quit("bye");
        else this.client.connection.transport?.close(true);
      } catch {
      }
      const t = setTimeout(() => {
        try {
          this.client.connection.transport?.close(true);
        } catch {
        }
        this.markClosed(new SessionError("ERR_IRCDNS_CLOSED", "closed"));
      }, 1e3);
      await this.closePromise;
      clearTimeout(t);
    }
    this.markClosed(new SessionError("ERR_IRCDNS_CLOSED", "closed"));
    this.client.removeAllListeners();
    this.client.on("error", () => {
    });
  }
};

// src/crypto/secp256k1.ts
import { createHmac } from "node:crypto";
var P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;
var N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
var GX = 0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798n;
var GY = 0x483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8n;
var mod = (a, m) => {
  const r2 = a % m;
  return r2 >= 0n ? r2 : r2 + m;
};
function powMod(b, e, m) {
  let r2 = 1n;
  let x = mod(b, m);
  let k = e;
  while (k > 0n) {
    if (k & 1n) r2 = r2 * x % m;
    x = x * x % m;
    k >>= 1n;
  }
  return r2;
}
function invMod(a, m) {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}
function dbl([x, y, z]) {
  if (z === 0n || y === 0n) return [0n, 1n, 0n];
  const yy = y * y % P;
  const s = 4n * x * yy % P;
  const m = 3n * x * x % P;
  const x3 = mod(m * m - 2n * s, P);
  const y3 = mod(m * (s - x3) - 8n * yy * yy, P);
  const z3 = 2n * y * z % P;
  return [x3, y3, z3];
}
function add(p, q) {
  if (p[2] === 0n) return q;
  if (q[2] === 0n) return p;
  const z1z1 = p[2] * p[2] % P;
  const z2z2 = q[2] * q[2] % P;
  const u1 = p[0] * z2z2 % P;
  const u2 = q[0] * z1z1 % P;
  const s1 = p[1] * q[2] * z2z2 % P;
  const s2 = q[1] * p[2] * z1z1 % P;
  if (u1 === u2) return s1 === s2 ? dbl(p) : [0n, 1n, 0n];
  const h = mod(u2 - u1, P);
  const r2 = mod(s2 - s1, P);
  const hh = h * h % P;
  const hhh = h * hh % P;
  const v = u1 * hh % P;
  const x3 = mod(r2 * r2 - hhh - 2n * v, P);
  const y3 = mod(r2 * (v - x3) - s1 * hhh, P);
  const z3 = p[2] * q[2] * h % P;
  return [x3, y3, z3];
}
function mul(pt, k) {
  let acc = [0n, 1n, 0n];
  let base = [pt.x, pt.y, 1n];
  let e = mod(k, N);
  while (e > 0n) {
    if (e & 1n) acc = add(acc, base);
    base = dbl(base);
    e >>= 1n;
  }
  return acc;
}
function affine(j) {
  if (j[2] === 0n) return void 0;
  const zi = invMod(j[2], P);
  const zi2 = zi * zi % P;
  return { x: j[0] * zi2 % P, y: j[1] * zi2 * zi % P };
}
var G = { x: GX, y: GY };
function compress2(p) {
  return concat(Uint8Array.of(p.y & 1n ? 3 : 2), bigIntToBytes(p.x, 32));
}
function rfc6979(priv, digest, attempt) {
  const x = bigIntToBytes(priv, 32);
  const h = bigIntToBytes(mod(bytesToBigInt(digest), N), 32);
  let v = new Uint8Array(32).fill(1);
  let k = new Uint8Array(32);
  const hmac = (key, ...d) => new Uint8Array(
    createHmac("sha256", key).update(concat(...d)).digest()
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
function sign(priv, digest, k) {
  const e = bytesToBigInt(digest);
  for (let attempt = 0; ; attempt++) {
    const nonce = k ?? rfc6979(priv, digest, attempt);
    const R2 = affine(mul(G, nonce));
    if (!R2) throw new RangeError("bad nonce");
    const r2 = R2.x % N;
    let s = invMod(nonce, N) * (e + r2 * priv) % N;
    if (r2 === 0n || s === 0n) {
      if (k !== void 0) throw new RangeError("bad nonce");
      continue;
    }
    if (k === void 0 && s > N / 2n) s = N - s;
    return concat(bigIntToBytes(r2, 32), bigIntToBytes(s, 32));
  }
}
function verify(pub, digest, sig) {
  if (sig.length !== 64) return false;
  const r2 = bytesToBigInt(sig.subarray(0, 32));
  const s = bytesToBigInt(sig.subarray(32));
  if (r2 <= 0n || r2 >= N || s <= 0n || s >= N) return false;
  const e = bytesToBigInt(digest);
  const w = invMod(s, N);
  const X = affine(add(mul(G, e * w % N), mul(pub, r2 * w % N)));
  return X !== void 0 && X.x % N === r2;
}
function recover(digest, sig) {
  if (sig.length !== 64) return [];
  const r2 = bytesToBigInt(sig.subarray(0, 32));
  const s = bytesToBigInt(sig.subarray(32));
  if (r2 <= 0n || r2 >= N || s <= 0n || s >= N) return [];
  const c = (powMod(r2, 3n, P) + 7n) % P;
  const y0 = powMod(c, (P + 1n) / 4n, P);
  if (y0 * y0 % P !== c) return [];
  const e = bytesToBigInt(digest);
  const rInv = invMod(r2, N);
  const out = [];
  for (const parity of [0n, 1n]) {
    const y = (y0 & 1n) === parity ? y0 : P - y0;
    const R2 = { x: r2, y };
    const Q = affine(add(mul(R2, s * rInv % N), mul(G, mod(-e * rInv, N))));
    if (Q) out.push(Q);
  }
  return out;
}

// src/topic.ts
var msgKey = (timeLock) => sha3(concat(asciiBytes("msg "), timeLock));
var sigKey = (timeLock) => sha3(concat(asciiBytes("sig "), timeLock));
function packTopic(o) {
  const plain = new Uint8Array(8);
  new DataView(plain.buffer).setBigUint64(0, BigInt(Math.floor(o.time)), true);
  const enc = otp(concat(plain, asciiBytes(o.value)), msgKey(o.timeLock));
  const sig = sign(o.priv, sha3(enc), o.k);
  const sigx = otp(sig, sigKey(o.timeLock));
  return `${TOPIC_TAG} ${baseEncode(sigx, A92)} ${baseEncode(enc, A92)}`;
}
function unpackTopic(topic, timeLock) {
  if (typeof topic !== "string" || topic.length > 4096) throw new BadTopicError("topic too long");
  const parts = topic.trim().split(/\s+/);
  if (parts.length !== 3) throw new BadTopicError(`expected 3 fields, got ${parts.length}`);
  if (parts[0] !== TOPIC_TAG) throw new BadTopicError("missing p2pd.net/irc tag");
  const sigx = baseDecode(parts[1], A92);
  const enc = baseDecode(parts[2], A92);
  if (!sigx || !enc) throw new BadTopicError("invalid base92 field");
  if (sigx.length !== 64) throw new BadTopicError("signature must be 64 bytes");
  if (enc.length < 8) throw new BadTopicError("payload shorter than its timestamp");
  const sig = otp(sigx, sigKey(timeLock));
  const digest = sha3(enc);
  const ids = [];
  for (const q of recover(digest, sig)) {
    if (verify(q, digest, sig)) ids.push(toHex(compress2(q)));
  }
  if (ids.length === 0) throw new BadTopicError("signature does not verify");
  const plain = otp(enc, msgKey(timeLock));
  const ts = new DataView(plain.buffer, plain.byteOffset, 8).getBigUint64(0, true);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) throw new BadTopicError("timestamp out of range");
  return { value: utf8Lossy(plain.subarray(8)), time: Number(ts), ids };
}
function maxTopicLength(valueBytes) {
  const b92 = (bytes) => 2 + Math.ceil(bytes * 8 / Math.log2(92));
  return TOPIC_TAG.length + 1 + b92(64) + 1 + b92(8 + valueBytes);
}
function maxValueBytes(topicLimit) {
  let n = 0;
  while (maxTopicLength(n + 1) <= topicLimit) n++;
  return maxTopicLength(n) <= topicLimit ? n : -1;
}

// src/ircdns.ts
var LINE_TOPIC_CAP = 376;
function why(servers2) {
  const bad = servers2.filter((x) => x.error).map((x) => `${x.server}: ${x.error?.code} ${x.error?.message}`);
  return bad.length ? ` (${bad.join("; ")})` : "";
}
var REFRESH_AFTER_MS = 7 * 24 * 3600 * 1e3;
function errInfo(e) {
  if (e instanceof IrcDnsError) return { code: e.code, message: e.message };
  return { code: "ERR_IRCDNS_INTERNAL", message: e instanceof Error ? e.message : String(e) };
}
var IRCDNS = class _IRCDNS {
  servers;
  quorum;
  seed;
  cache;
  authSessions = /* @__PURE__ */ new Map();
  readSessions = /* @__PURE__ */ new Map();
  channels = /* @__PURE__ */ new Map();
  timeouts;
  connectTimeoutMs;
  lookupGraceMs;
  tlsVerify;
  log;
  life = new AbortController();
  isClosed = false;
  constructor(o, servers2, cache) {
    this.seed = o.seed;
    this.servers = Object.freeze(servers2);
    this.quorum = quorum(servers2.length);
    this.cache = cache;
    this.timeouts = {
      serviceMs: o.serviceTimeoutMs ?? 1e4,
      topicRestoreMs: o.topicRestoreMs ?? 1500
    };
    this.connectTimeoutMs = o.connectTimeoutMs ?? 15e3;
    this.lookupGraceMs = o.lookupGraceMs ?? 300;
    this.tlsVerify = o.tlsVerify ?? false;
    this.log = o.log ?? (() => {
    });
    if (o.signal) {
      if (o.signal.aborted) this.life.abort();
      else o.signal.addEventListener("abort", () => void this.close(), { once: true });
    }
  }
  /** Validate options and load the cache. Connections are opened lazily, in parallel, per operation. */
  static async start(o = {}) {
    if (o.signal?.aborted) throw new AbortedError();
    if (o.seed !== void 0) checkSeed(o.seed);
    const list = typeof o.servers === "string" ? parseServerList(o.servers) : (o.servers ?? DEFAULT_SERVERS).map(parseServer);
    if (list.length === 0) throw new NoQuorumError("no servers configured", 1, 0);
    const seen = /* @__PURE__ */ new Set();
    for (const s of list) {
      if (seen.has(s.domain))
        throw new IrcDnsError("ERR_IRCDNS_BAD_SERVER", `duplicate server ${s.domain}`);
      seen.add(s.domain);
    }
    const file = o.seed && o.cacheDir !== false ? join2(o.cacheDir ?? join2(homedir(), ".p2pd"), cacheFileName(o.seed)) : void 0;
    const cache = new JsonCache(file);
    await cache.load();
    return new _IRCDNS(o, list, cache);
  }
  signalFor(o) {
    if (this.isClosed) throw new ClosedError();
    return o?.signal ? AbortSignal.any([this.life.signal, o.signal]) : this.life.signal;
  }
  requireSeed() {
    return checkSeed(this.seed);
  }
  /** Channel and time-lock per (name, server); Argon2 is deterministic, so it is computed once. */
  channel(n, s) {
    const key = `${n.name} ${n.tld} ${n.pw} ${s.domain}`;
    let c = this.channels.get(key);
    if (!c) {
      c = deriveChannel(n.name, n.tld, n.pw, s.domain);
      this.channels.set(key, c);
    }
    return c;
  }
  async connect(s, nick, username, sasl, signal) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await IrcSession.connect(s, {
          nick,
          username,
          sasl: sasl ? { account: sasl.nick, password: sasl.password } : void 0,
          signal,
          connectTimeoutMs: this.connectTimeoutMs,
          tlsVerify: this.tlsVerify,
          log: this.log
        });
      } catch (e) {
        if (e instanceof SessionError && e.code === "ERR_IRCDNS_NICK_IN_USE" && attempt < 2) {
          await new Promise((r2) => setTimeout(r2, 2e3));
          continue;
        }
        throw e;
      }
    }
  }
  /** Logged-in session for the seed's account on one server (connect + SASL or NickServ). */
  authSession(s, signal) {
    const seed = this.requireSeed();
    const existing = this.authSessions.get(s.domain);
    if (existing) {
      return existing.then((sess) => {
        if (!sess.closed) return sess;
        this.authSessions.delete(s.domain);
        return this.authSession(s, signal);
      });
    }
    const p = (async () => {
      const acct = deriveAccount(seed, s.domain);
      const known = this.cache.data.servers[s.domain]?.accountRegistered === true;
      const sess = await this.connect(
        s,
        acct.nick,
        acct.username,
        known ? acct : void 0,
        signal
      );
      try {
        const how = await login(sess, acct, this.timeouts, signal);
        this.log(`${s.label}: logged in (${how})`);
        const entry = this.cache.data.servers[s.domain] ?? {};
        entry.accountRegistered = true;
        entry.lastStarted = Date.now();
        this.cache.data.servers[s.domain] = entry;
        return sess;
      } catch (e) {
        await sess.close();
        throw e;
      }
    })();
    this.authSessions.set(s.domain, p);
    p.catch(() => this.authSessions.delete(s.domain));
    return p;
  }
  /** Any session for reading: the logged-in one if open, else an anonymous one with a random nick. */
  readSession(s, signal) {
    const auth = this.authSessions.get(s.domain);
    if (auth)
      return auth.then(
        (x) => x.closed ? this.anonSession(s, signal) : x,
        () => this.anonSession(s, signal)
      );
    return this.anonSession(s, signal);
  }
  anonSession(s, signal) {
    const existing = this.readSessions.get(s.domain);
    if (existing) {
      return existing.then((sess) => {
        if (!sess.closed) return sess;
        this.readSessions.delete(s.domain);
        return this.anonSession(s, signal);
      });
    }
    const tag = baseEncode(randomBytes(8), A36).slice(0, 7).toLowerCase();
    const p = this.connect(s, `g${tag}`, `u${tag}`, void 0, signal);
    this.readSessions.set(s.domain, p);
    p.catch(() => this.readSessions.delete(s.domain));
    return p;
  }
  async settle(fn) {
    return Promise.all(
      this.servers.map(
        (s) => fn(s).then(
          (v) => ({ s, ok: true, v }),
          (e) => ({ s, ok: false, e })
        )
      )
    );
  }
  throwIfAborted(signal) {
    if (this.isClosed) throw new ClosedError();
    if (signal.aborted) throw new AbortedError();
  }
  /**
   * Register [name, tld, pw] on every server in parallel. Proceeds only if at least N-F servers have the
   * channel free (or already ours); succeeds only if at least N-F end up owned by this seed.
   */
  async register(nameIn, o) {
    const n = parseName(nameIn);
    this.requireSeed();
    const signal = this.signalFor(o);
    const q = this.quorum;
    const label = `${n.name}.${n.tld}`;
    for (const s of this.servers) this.channel(n, s);
    const dialects = /* @__PURE__ */ new Map();
    const phase1 = await this.settle(async (s) => {
      const sess = await this.authSession(s, signal);
      const { chan } = this.channel(n, s);
      const st = await chanInfo(sess, chan, this.timeouts, signal);
      dialects.set(s.domain, sess.dialect);
      if (!st.registered) return "free";
      if (st.founder && ircLower(st.founder) === ircLower(sess.nick)) return "mine";
      throw new NameTakenError(`${s.label}: ${chan} belongs to ${st.founder ?? "someone else"}`);
    });
    this.throwIfAborted(signal);
    const outcomes = /* @__PURE__ */ new Map();
    for (const r2 of phase1) {
      const chan = this.channel(n, r2.s).chan;
      outcomes.set(
        r2.s.domain,
        r2.ok ? { server: r2.s.label, chan, ok: r2.v === "mine" } : { server: r2.s.label, chan, ok: false, error: errInfo(r2.e) }
      );
    }
    const usable = phase1.filter((r2) => r2.ok);
    const taken = phase1.filter((r2) => !r2.ok && r2.e instanceof NameTakenError).length;
    const result = () => {
      const servers2 = this.servers.map((s) => {
        const o2 = outcomes.get(s.domain);
        const d = dialects.get(s.domain);
        return d ? { ...o2, services: d } : o2;
      });
      return { name: label, quorum: q, succeeded: servers2.filter((x) => x.ok).length, servers: servers2 };
    };
    if (usable.length < q.registerSuccessMin) {
      await this.cache.save();
      if (taken > q.registerFailureMax)
        throw new NameTakenError(`${label} is taken on ${taken} of ${q.servers} servers`);
      throw new NoQuorumError(
        `${label}: only ${usable.length} of ${q.servers} servers usable, need ${q.registerSuccessMin}${why(result().servers)}`,
        q.registerSuccessMin,
        usable.length
      );
    }
    await this.settle(async (s) => {
      const r1 = phase1.find((x) => x.s === s);
      if (!r1?.ok || r1.v === "mine") return;
      const { chan } = this.channel(n, s);
      try {
        const sess = await this.authSession(s, signal);
        await registerChan(sess, chan, this.timeouts, signal);
        outcomes.set(s.domain, { server: s.label, chan, ok: true });
      } catch (e) {
        outcomes.set(s.domain, { server: s.label, chan, ok: false, error: errInfo(e) });
      }
    });
    const res = result();
    for (const s of this.servers) {
      const oc = outcomes.get(s.domain);
      const key = `${s.domain} ${oc.chan}`;
      const prev = this.cache.data.channels[key];
      this.cache.data.channels[key] = {
        domain: s.domain,
        chan: oc.chan,
        status: oc.ok ? "ok" : "failed",
        failures: oc.ok ? 0 : (prev?.failures ?? 0) + 1,
        lastRefresh: Date.now()
      };
    }
    await this.cache.save();
    this.throwIfAborted(signal);
    if (res.succeeded < q.registerSuccessMin) {
      const takenNow = res.servers.filter((x) => x.error?.code === "ERR_IRCDNS_TAKEN").length;
      if (takenNow > q.registerFailureMax)
        throw new NameTakenError(`${label} is taken on ${takenNow} of ${q.servers} servers`);
      throw new NoQuorumError(
        `${label}: registered on ${res.succeeded} of ${q.servers} servers, need ${q.registerSuccessMin}${why(res.servers)}`,
        q.registerSuccessMin,
        res.succeeded
      );
    }
    return res;
  }
  /** Store `value` as the signed topic of the name's channel on every server; needs N-F confirmations. */
  async store(value, nameIn, o) {
    checkValue(value);
    const n = parseName(nameIn);
    const seed = this.requireSeed();
    const signal = this.signalFor(o);
    const q = this.quorum;
    const label = `${n.name}.${n.tld}`;
    const bytes = value.length;
    const absolute = maxValueBytes(LINE_TOPIC_CAP);
    if (bytes > absolute) {
      throw new ValueTooLargeError(
        `value of ${bytes} bytes exceeds ${absolute} (512-byte IRC lines)`,
        absolute
      );
    }
    const { priv } = deriveSigningKey(n.name, n.tld, n.pw, seed);
    for (const s of this.servers) this.channel(n, s);
    const sessions = await this.settle((s) => this.authSession(s, signal));
    this.throwIfAborted(signal);
    const limitOf = (sess, chan) => Math.min(sess.topicLen, LINE_TOPIC_CAP, MAX_LINE - `PRIVMSG ChanServ :TOPIC ${chan} `.length);
    const fits = sessions.filter(
      (r2) => r2.ok && maxTopicLength(bytes) <= limitOf(r2.v, this.channel(n, r2.s).chan)
    );
    const up = sessions.filter((r2) => r2.ok);
    if (up.length >= q.registerSuccessMin && fits.length < q.registerSuccessMin) {
      const limits = up.map((r2) => r2.ok ? maxValueBytes(limitOf(r2.v, this.channel(n, r2.s).chan)) : 0).sort((a, b) => b - a);
      const max = limits[q.registerSuccessMin - 1] ?? 0;
      throw new ValueTooLargeError(
        `value of ${bytes} bytes does not fit the topic limits of ${q.registerSuccessMin} servers (max ${max})`,
        max
      );
    }
    const time = Math.floor(Date.now() / 1e3);
    const outcomes = await this.settle(async (s) => {
      const r2 = sessions.find((x) => x.s === s);
      if (!r2?.ok) throw r2 && !r2.ok ? r2.e : new SessionError("ERR_IRCDNS_CONNECT", "no session");
      const { chan, timeLock } = this.channel(n, s);
      const topic = packTopic({ value, priv, timeLock, time });
      const limit = limitOf(r2.v, chan);
      if (topic.length > limit)
        throw new ValueTooLargeError(
          `${s.label}: topic of ${topic.length} > ${limit}`,
          maxValueBytes(limit)
        );
      await setTopic(r2.v, chan, topic, this.timeouts, signal);
    });
    const servers2 = outcomes.map((r2) => {
      const chan = this.channel(n, r2.s).chan;
      return r2.ok ? { server: r2.s.label, chan, ok: true } : { server: r2.s.label, chan, ok: false, error: errInfo(r2.e) };
    });
    const succeeded = servers2.filter((x) => x.ok).length;
    this.throwIfAborted(signal);
    if (succeeded < q.registerSuccessMin) {
      throw new NoQuorumError(
        `${label}: stored on ${succeeded} of ${q.servers} servers, need ${q.registerSuccessMin}${why(servers2)}`,
        q.registerSuccessMin,
        succeeded
      );
    }
    return { name: label, quorum: q, succeeded, servers: servers2, time };
  }
  /**
   * Read every server in parallel; accept the value once F+1 topics agree on one signer (newest wins
   * within that signer's group). Never returns a value fewer than F+1 servers vouch for.
   */
  async lookup(nameIn, o) {
    const n = parseName(nameIn);
    const signal = this.signalFor(o);
    const q = this.quorum;
    const label = `${n.name}.${n.tld}`;
    for (const s of this.servers) this.channel(n, s);
    const votes = [];
    const outcomes = /* @__PURE__ */ new Map();
    let answered = 0;
    await new Promise((done) => {
      let pending = this.servers.length;
      let grace;
      const resolve = () => {
        clearTimeout(grace);
        signal.removeEventListener("abort", resolve);
        done();
      };
      const check = () => {
        if (pending === 0) resolve();
        else if (!grace && decide(votes, q.lookupSuccessMin))
          grace = setTimeout(resolve, this.lookupGraceMs);
      };
      signal.addEventListener("abort", resolve, { once: true });
      for (const s of this.servers) {
        const { chan, timeLock } = this.channel(n, s);
        (async () => {
          const sess = await this.readSession(s, signal);
          const topic = await readTopic(sess, chan, this.timeouts, signal);
          answered++;
          if (topic === void 0) throw new NotFoundError(`${s.label}: ${chan} has no topic`);
          const rec = unpackTopic(topic, timeLock);
          votes.push({ server: s.label, time: rec.time, value: rec.value, ids: rec.ids });
        })().then(
          () => outcomes.set(s.domain, { server: s.label, chan, ok: true }),
          (e) => outcomes.set(s.domain, { server: s.label, chan, ok: false, error: errInfo(e) })
        ).finally(() => {
          pending--;
          check();
        });
      }
    });
    this.throwIfAborted(signal);
    const d = decide(votes, q.lookupSuccessMin);
    const servers2 = this.servers.map(
      (s) => outcomes.get(s.domain) ?? {
        server: s.label,
        chan: this.channel(n, s).chan,
        ok: false,
        error: { code: "ERR_IRCDNS_TIMEOUT", message: "still pending" }
      }
    );
    if (d) {
      const agree = new Set(d.servers);
      for (const x of servers2)
        if (x.ok && !agree.has(x.server)) {
          x.ok = false;
          x.error = {
            code: "ERR_IRCDNS_DISAGREE",
            message: "topic signed by another key or older"
          };
        }
      return {
        name: label,
        value: d.value,
        time: d.time,
        signer: d.signer,
        agreeing: d.servers,
        quorum: q,
        servers: servers2
      };
    }
    if (answered < q.lookupSuccessMin) {
      throw new NoQuorumError(
        `${label}: only ${answered} of ${q.servers} servers answered, need ${q.lookupSuccessMin}${why(servers2)}`,
        q.lookupSuccessMin,
        answered
      );
    }
    if (votes.length === 0)
      throw new NotFoundError(`${label} is not registered (no valid topic on ${answered} servers)`);
    throw new NoQuorumError(
      `${label}: no value is signed by one key on ${q.lookupSuccessMin} servers`,
      q.lookupSuccessMin,
      votes.length
    );
  }
  /**
   * Keep the seed's nicks and channels from expiring: log in everywhere the cache says we hold
   * something, and JOIN/PART channels not refreshed for a week. No messages to public channels.
   */
  async refresh(o) {
    this.requireSeed();
    const signal = this.signalFor(o);
    const maxAge = o?.maxAgeMs ?? REFRESH_AFTER_MS;
    let refreshed = 0;
    let failed = 0;
    await this.settle(async (s) => {
      const chans = Object.values(this.cache.data.channels).filter(
        (c) => c.domain === s.domain && c.status === "ok" && Date.now() - c.lastRefresh >= maxAge
      );
      if (!this.cache.data.servers[s.domain]?.accountRegistered) return;
      try {
        const sess = await this.authSession(s, signal);
        for (const c of chans) {
          await readTopic(sess, c.chan, { ...this.timeouts, topicRestoreMs: 200 }, signal);
          c.lastRefresh = Date.now();
          refreshed++;
        }
      } catch {
        failed++;
      }
    });
    await this.cache.save();
    return { refreshed, failed };
  }
  /** Close every connection (QUIT) and flush the cache. Idempotent. */
  async close() {
    if (this.isClosed) return;
    this.isClosed = true;
    this.life.abort();
    const all = [...this.authSessions.values(), ...this.readSessions.values()];
    this.authSessions.clear();
    this.readSessions.clear();
    await Promise.all(
      all.map(
        (p) => p.then(
          (s) => s.close(),
          () => {
          }
        )
      )
    );
    await this.cache.save().catch(() => {
    });
  }
};

// test/helpers/fake-ircd.ts
import { createServer } from "node:net";
async function startFakeIrcd(opts = {}) {
  const planted = /* @__PURE__ */ new Map();
  const stored = /* @__PURE__ */ new Map();
  const sockets = /* @__PURE__ */ new Set();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {
    });
    let nick = "*";
    let buf = "";
    const send = (l) => sock.write(`${l}\r
`);
    const notice = (from, text) => send(`:${from}!${from}@services.fake.lab NOTICE ${nick} :${text}`);
    sock.on("data", (d) => {
      buf += d.toString("utf8");
      let i = buf.indexOf("\n");
      while (i >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, "");
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
        const [cmd = "", ...rest] = line.split(" ");
        const trailing = line.includes(" :") ? line.slice(line.indexOf(" :") + 2) : "";
        switch (cmd.toUpperCase()) {
          case "CAP":
            if (rest[0] === "LS") send(":irc.fake.lab CAP * LS :");
            break;
          case "NICK":
            nick = rest[0] ?? "x";
            break;
          case "USER":
            send(`:irc.fake.lab 001 ${nick} :Welcome to the liar network`);
            send(`:irc.fake.lab 005 ${nick} TOPICLEN=390 NICKLEN=30 :are supported by this server`);
            send(`:irc.fake.lab 422 ${nick} :MOTD File is missing`);
            break;
          case "PING":
            send(`:irc.fake.lab PONG irc.fake.lab :${rest.join(" ").replace(/^:/, "")}`);
            break;
          case "JOIN": {
            const chan = rest[0] ?? "";
            if (opts.vanishOnJoin) {
              sock.destroy();
              return;
            }
            send(`:${nick}!u@127.0.0.1 JOIN ${chan}`);
            const t = planted.get(chan);
            if (t) send(`:irc.fake.lab 332 ${nick} ${chan} :${t}`);
            send(`:irc.fake.lab 353 ${nick} = ${chan} :@${nick}`);
            send(`:irc.fake.lab 366 ${nick} ${chan} :End of /NAMES list.`);
            break;
          }
          case "PRIVMSG": {
            const target = (rest[0] ?? "").toLowerCase();
            const words = trailing.split(" ");
            const verb = (words[0] ?? "").toUpperCase();
            if (target === "nickserv") {
              if (verb === "REGISTER") notice("NickServ", `Nickname ${nick} registered.`);
              else if (verb === "IDENTIFY")
                notice("NickServ", "Password accepted - you are now recognized.");
            } else if (target === "chanserv") {
              const chan = words[1] ?? "";
              if (verb === "INFO") notice("ChanServ", `Channel ${chan} isn't registered.`);
              else if (verb === "REGISTER")
                notice("ChanServ", `Channel ${chan} registered under your account: ${nick}`);
              else if (verb === "TOPIC" && words[2] === "LOCK")
                notice("ChanServ", `Topic lock option for ${chan} is now on.`);
              else if (verb === "TOPIC") {
                const topic = words.slice(2).join(" ");
                stored.set(chan, topic);
                send(`:ChanServ!ChanServ@services.fake.lab TOPIC ${chan} :${topic}`);
              } else notice("ChanServ", "Done.");
            }
            break;
          }
          case "QUIT":
            send("ERROR :Closing link");
            sock.end();
            break;
        }
      }
    });
  });
  await new Promise((r2) => server.listen(0, "127.0.0.1", r2));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    port,
    stored,
    plant: (chan, topic) => planted.set(chan, topic),
    close: () => new Promise((r2) => {
      for (const s of sockets) s.destroy();
      server.close(() => r2());
    })
  };
}
async function deadPort() {
  const s = createServer();
  await new Promise((r2) => s.listen(0, "127.0.0.1", r2));
  const addr = s.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  await new Promise((r2) => s.close(() => r2()));
  return port;
}

// ../../../../tmp/t6.ts
import { randomBytes as randomBytes2 } from "node:crypto";
var liar = await startFakeIrcd();
var van = await startFakeIrcd({ vanishOnJoin: true });
var servers = `127.0.0.1:16767,127.0.0.1:26767,127.0.0.1:36767,127.0.0.1:${await deadPort()},127.0.0.1:${liar.port},127.0.0.1:${van.port}`;
var t0 = Date.now();
var lap = (m) => {
  console.log(m, Date.now() - t0);
  t0 = Date.now();
};
var dns = await IRCDNS.start({ seed: randomBytes2(32), servers, cacheDir: false, connectTimeoutMs: 3e3, log: (m) => console.log(Date.now() % 1e5, m) });
var name = ["x", "b" + randomBytes2(3).toString("hex"), "pw"];
var r = await dns.register(name);
lap("register");
console.log(JSON.stringify(r.servers.map((s) => s.error?.code)));
await dns.store("hello", name);
lap("store");
await dns.close();
lap("close");
var rd = await IRCDNS.start({ servers, connectTimeoutMs: 3e3 });
await rd.lookup(name);
lap("lookup");
await rd.close();
lap("close reader");
await liar.close();
await van.close();
