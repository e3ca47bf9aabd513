import { argon2i } from "@noble/hashes/argon2.js";
import { A36, A62, baseEncode } from "./crypto/base-n.js";
import { asciiBytes, bytesToBigInt, concat, ripemd160, sha3, toHex } from "./crypto/bytes.js";
import { BadSeedError } from "./errors.js";

/** Constants of the v1 (P2PD) format; changing any of them breaks interoperability. */
export const PREFIX = asciiBytes("20");
export const SALT = asciiBytes("IRCDNS - improve entropy for weak seeds.");
export const POW_SALT = asciiBytes("Ana main, chicken tikka masala, Blush - Wolf Alice");
export const TOPIC_TAG = "p2pd.net/irc";
export const MIN_SEED_BYTES = 24;
// The reference compares with the P-256 order (not secp256k1's); harmless, kept for identical keys.
const KEY_LIMIT = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** Per-server NickServ identity derived from the seed. */
export interface Account {
  username: string;
  nick: string;
  password: string;
  email: string;
}

/** Throws BadSeedError unless `seed` is bytes of at least 24. */
export function checkSeed(seed: unknown): Uint8Array {
  if (!(seed instanceof Uint8Array)) throw new BadSeedError("seed must be a Uint8Array/Buffer");
  if (seed.length < MIN_SEED_BYTES) {
    throw new BadSeedError(`seed must be at least ${MIN_SEED_BYTES} bytes, got ${seed.length}`);
  }
  return seed;
}

function field(label: string, domain: string, seed: Uint8Array): Uint8Array {
  return sha3(concat(PREFIX, asciiBytes(label), asciiBytes(domain), SALT, seed));
}

export function deriveAccount(seed: Uint8Array, domain: string): Account {
  checkSeed(seed);
  return {
    username: `u${baseEncode(field(":user:", domain, seed), A36).slice(0, 7)}`,
    nick: `n${baseEncode(field(":nick:", domain, seed), A36).slice(0, 7)}`,
    password: baseEncode(field(":pass:", domain, seed), A62).slice(0, 30),
    email: `e${baseEncode(field(":email:", domain, seed), A36).slice(0, 15)}@p2pd.net`,
  };
}

/** Password for networks whose ChanServ REGISTER wants one (no separators, as in the reference). */
export function deriveChanPassword(chan: string, domain: string, seed: Uint8Array): string {
  checkSeed(seed);
  return baseEncode(field(chan, domain, seed), A62).slice(0, 30);
}

/** Name of the local cache file for a seed (the reference's `ircdns_<hex>.sqlite`, as JSON). */
export function cacheFileName(seed: Uint8Array): string {
  checkSeed(seed);
  return `ircdns_${toHex(sha3(concat(PREFIX, asciiBytes("db"), SALT, seed)))}.json`;
}

/** The Argon2i input "name tld pw domain" (ASCII, non-ASCII dropped). */
export function timeLockInput(name: string, tld: string, pw: string, domain: string): Uint8Array {
  return asciiBytes(`${name} ${tld} ${pw} ${domain}`);
}

/** Argon2i v1.3 (t=2, m=2 MiB, p=1, 32 bytes) time-lock; deterministic per (name, tld, pw, domain). */
export function deriveTimeLock(name: string, tld: string, pw: string, domain: string): Uint8Array {
  return argon2i(timeLockInput(name, tld, pw, domain), POW_SALT, {
    t: 2,
    m: 2048,
    p: 1,
    dkLen: 32,
  });
}

/** Channel name from the time-lock: "#" + lowercase base36(RIPEMD160(SHA3(m || L)))[:31]. */
export function channelFromTimeLock(m: Uint8Array, timeLock: Uint8Array): string {
  return `#${baseEncode(ripemd160(sha3(concat(m, timeLock))), A36)
    .slice(0, 31)
    .toLowerCase()}`;
}

export interface ChannelInfo {
  chan: string;
  timeLock: Uint8Array;
}

export function deriveChannel(name: string, tld: string, pw: string, domain: string): ChannelInfo {
  const timeLock = deriveTimeLock(name, tld, pw, domain);
  return { chan: channelFromTimeLock(timeLockInput(name, tld, pw, domain), timeLock), timeLock };
}

/** secp256k1 private scalar for a name (same on every server). */
export function deriveSigningKey(
  name: string,
  tld: string,
  pw: string,
  seed: Uint8Array,
): { priv: bigint; rounds: number } {
  checkSeed(seed);
  let x = sha3(concat(asciiBytes(`${name}${tld}${pw}`), SALT, seed));
  let rounds = 1;
  while (bytesToBigInt(x) > KEY_LIMIT) {
    x = sha3(x);
    rounds++;
  }
  return { priv: bytesToBigInt(x), rounds };
}
