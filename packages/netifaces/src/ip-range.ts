import { classifyIp, type IpClass, isPrivateIp } from "./classify.js";
import type { Family } from "./endpoint.js";
import { BadAddressError, P2pdNetError } from "./errors.js";
import { explodeIp6, formatIp, MAX_BITS, netmaskToPrefix, parseIp } from "./ip.js";
import { jsonNumber } from "./json-number.js";

/** JSON form, compatible with P2PD's `{ip, cidr, af}` (af 4/6 here; 2/10/23/28/30 accepted). */
export interface IPRangeJSON {
  ip: string;
  cidr: number;
  af: number;
}

export interface IPRangeOptions {
  /** Prefix length (CIDR); default: a single host (/32 or /128). */
  prefix?: number;
  /** Netmask text; wins over `prefix` (as in P2PD). */
  netmask?: string;
}

/** Maps P2PD/OS address-family ints and 4/6 to a Family. */
export function toFamily(af: unknown): Family | undefined {
  if (af === 4 || af === 2 || af === "4" || af === "2") return 4;
  if (af === 6 || af === "6") return 6;
  if (typeof af === "number" || typeof af === "string") {
    return [10, 23, 28, 30].includes(Number(af)) ? 6 : undefined;
  }
  return undefined;
}

/** An integer offset as bigint; BigInt() itself would throw a RangeError/SyntaxError. */
export function toOffset(i: unknown): bigint {
  if (typeof i === "bigint") return i;
  if (typeof i === "number" && Number.isSafeInteger(i)) return BigInt(i);
  throw new P2pdNetError("ERR_BAD_ARGUMENT", `offset must be an integer, got ${String(i)}`);
}

/**
 * A CIDR block on bigint. Unlike P2PD, an address with host bits set keeps its host IP
 * (`ip`), while `first`/`last`/`size` describe the whole block.
 */
export class IPRange {
  readonly family: Family;
  /** The address as given (normalised, zone stripped). */
  readonly ip: string;
  readonly prefix: number;
  /** Network address as a number. */
  readonly network: bigint;
  readonly value: bigint;

  private constructor(family: Family, value: bigint, prefix: number) {
    const bits = MAX_BITS[family];
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
      throw new BadAddressError(`bad prefix length ${prefix} for IPv${family}`);
    }
    this.family = family;
    this.value = value;
    this.prefix = prefix + 0; // -0 -> 0
    const hostBits = BigInt(bits - prefix);
    this.network = (value >> hostBits) << hostBits;
    this.ip = formatIp(family, value);
  }

  /** `IPRange.from("10.0.0.5")`, `from("10.0.0.5/24")`, `from("fe80::1%eth0", {prefix: 64})`. */
  static from(input: string, opts: IPRangeOptions = {}): IPRange {
    if (typeof input !== "string") throw new BadAddressError("IP range must be a string");
    let ipText = input.trim();
    let prefix = opts.prefix;
    const slash = ipText.indexOf("/");
    if (slash !== -1) {
      const tail = ipText.slice(slash + 1);
      ipText = ipText.slice(0, slash);
      if (prefix === undefined) {
        if (!/^\d{1,3}$/.test(tail)) throw new BadAddressError(`bad CIDR suffix in ${input}`);
        prefix = Number(tail);
      }
    }
    const p = parseIp(ipText);
    if (opts.netmask !== undefined) {
      const m = parseIp(opts.netmask);
      if (m.family !== p.family) throw new BadAddressError(`netmask family differs from ${ipText}`);
      prefix = netmaskToPrefix(opts.netmask);
    }
    return new IPRange(p.family, p.value, prefix ?? MAX_BITS[p.family]);
  }

  /** The block containing `ip` with its host bits cleared (`network("10.1.2.3/8")` = 10.0.0.0/8). */
  static network(input: string, opts: IPRangeOptions = {}): IPRange {
    const r = IPRange.from(input, opts);
    return new IPRange(r.family, r.network, r.prefix);
  }

  static fromNumber(family: Family, value: bigint, prefix = MAX_BITS[family]): IPRange {
    const bits = MAX_BITS[family];
    if (bits === undefined)
      throw new BadAddressError(`family must be 4 or 6, got ${String(family)}`);
    if (typeof value !== "bigint") throw new BadAddressError("IP value must be a bigint");
    if (value < 0n || value >= 1n << BigInt(bits)) throw new BadAddressError("IP out of range");
    return new IPRange(family, value, prefix);
  }

  /** Rebuilds from `{ip, cidr, af}` (P2PD shape, IPv6 exploded or not). */
  static fromJSON(j: unknown): IPRange {
    if (typeof j !== "object" || j === null)
      throw new BadAddressError("IP range JSON must be an object");
    const o = j as Record<string, unknown>;
    if (typeof o.ip !== "string") throw new BadAddressError("IP range JSON lacks ip");
    const cidr = o.cidr === undefined ? undefined : jsonNumber(o.cidr);
    if (cidr !== undefined && !Number.isInteger(cidr)) throw new BadAddressError("bad cidr");
    const r = IPRange.from(o.ip, cidr === undefined ? {} : { prefix: cidr });
    if (o.af !== undefined && toFamily(o.af) !== r.family) {
      throw new BadAddressError(`af ${String(o.af)} does not match ${o.ip}`);
    }
    return r;
  }

  get bits(): number {
    return MAX_BITS[this.family];
  }

  /** Number of addresses in the block (2^64 for a v6 /64: bigint). */
  get size(): bigint {
    return 1n << BigInt(this.bits - this.prefix);
  }

  get isSingle(): boolean {
    return this.prefix === this.bits;
  }

  /** Host bits set: an interface address inside a block, not a block itself. */
  get isHost(): boolean {
    return this.isSingle || this.value !== this.network;
  }

  get first(): string {
    return formatIp(this.family, this.network);
  }

  get last(): string {
    return formatIp(this.family, this.network + this.size - 1n);
  }

  /** Address at offset `i` from the network address; negative counts from the end. */
  at(i: number | bigint): string {
    let n = toOffset(i);
    if (n < 0n) n += this.size;
    if (n < 0n || n >= this.size) {
      throw new P2pdNetError("ERR_BAD_ARGUMENT", `offset ${i} outside ${this.toString()}`);
    }
    return formatIp(this.family, this.network + n);
  }

  contains(ip: string | IPRange): boolean {
    const other = typeof ip === "string" ? IPRange.from(ip) : ip;
    if (other.family !== this.family) return false;
    const otherLast = other.network + other.size - 1n;
    return other.network >= this.network && otherLast <= this.network + this.size - 1n;
  }

  intersects(r: IPRange): boolean {
    if (r.family !== this.family) return false;
    return r.network <= this.network + this.size - 1n && this.network <= r.network + r.size - 1n;
  }

  equals(r: IPRange): boolean {
    return r.family === this.family && r.value === this.value && r.prefix === this.prefix;
  }

  classify(): IpClass {
    return classifyIp(this.ip);
  }

  get isPrivate(): boolean {
    return isPrivateIp(this.ip);
  }

  get isPublic(): boolean {
    return !this.isPrivate;
  }

  /** IPv6 in P2PD's exploded form (IPv4 unchanged). */
  exploded(): string {
    return this.family === 6 ? explodeIp6(this.value) : this.ip;
  }

  toString(): string {
    return this.isSingle ? this.ip : `${this.ip}/${this.prefix}`;
  }

  toJSON(): IPRangeJSON {
    return { ip: this.ip, cidr: this.prefix, af: this.family };
  }
}
