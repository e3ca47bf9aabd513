import type { Family } from "./endpoint.js";
import { IPRange, toOffset } from "./ip-range.js";
import type { Route } from "./route.js";

/** An interface's routes for one family; the first route is the default (primary) one. */
export class RoutePool {
  readonly family: Family;
  readonly routes: readonly Route[];
  readonly linkLocals: readonly string[];

  constructor(family: Family, routes: readonly Route[] = [], linkLocals: readonly string[] = []) {
    this.family = family;
    this.routes = [...routes];
    this.linkLocals = [...linkLocals];
  }

  get length(): number {
    return this.routes.length;
  }

  get isEmpty(): boolean {
    return this.routes.length === 0;
  }

  /** Total WAN hosts across routes (an IPv6 /64 is 2^64: bigint). Unresolved routes count 1. */
  get size(): bigint {
    return this.routes.reduce((n, r) => n + (r.extIps[0]?.size ?? 1n), 0n);
  }

  /** A fresh route whose external side is the i-th WAN host across all routes. */
  at(i: number | bigint): Route | undefined {
    let n = toOffset(i);
    const total = this.size;
    if (n < 0n) n += total;
    if (n < 0n || n >= total) return undefined;
    for (const r of this.routes) {
      const ext = r.extIps[0];
      const count = ext?.size ?? 1n;
      if (n < count) {
        if (!ext || ext.isSingle) return r.copy();
        return r.withExt(IPRange.from(ext.at(n)));
      }
      n -= count;
    }
    return undefined;
  }

  /** Walks WAN hosts lazily (never materialises a /64). */
  *wanHosts(): Generator<Route> {
    for (const r of this.routes) {
      const ext = r.extIps[0];
      if (!ext || ext.isSingle) {
        yield r.copy();
        continue;
      }
      for (let k = 0n; k < ext.size; k++) yield r.withExt(IPRange.from(ext.at(k)));
    }
  }

  /** The route whose external range holds `ip`, if any. */
  locate(ip: string | IPRange): Route | undefined {
    return this.routes.find((r) => r.equals(ip));
  }

  toJSON(): ReturnType<Route["toJSON"]>[] {
    return this.routes.map((r) => r.toJSON());
  }
}
