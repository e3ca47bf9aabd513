import { createServer } from "node:net";
import { raceAbort } from "./abort.js";
import type { Family } from "./endpoint.js";
import { AbortedError, P2pdNetError } from "./errors.js";
import { isLinkLocal6, MAX_BITS, tryParseIp } from "./ip.js";
import { IPRange } from "./ip-range.js";
import type { LinkAddress } from "./providers/types.js";
import { hostOf, Route } from "./route.js";

/**
 * Looks up the external address seen when sending from `localAddress` (e.g. a STUN query).
 * Injected so netifaces never depends on @p2pd/stun.
 */
export type ExternalIpResolver = (opts: {
  family: Family;
  localAddress: string;
  signal?: AbortSignal;
}) => Promise<string>;

export interface BuildRoutesOptions {
  family: Family;
  addresses: readonly LinkAddress[];
  interfaceName?: string;
  scopeId?: string;
  resolveExternalIp?: ExternalIpResolver;
  /** Assume public NIC addresses are reachable as-is (no lookup for them). */
  skipResolve?: boolean;
  signal?: AbortSignal;
}

export interface BuiltRoutes {
  routes: Route[];
  linkLocals: string[];
  /** Lookups that failed (the family may still have routes from other lookups). */
  errors: Error[];
}

/** NIC address -> range: a host address becomes /32 or /128; an assigned block stays a block. */
export function nicRange(a: LinkAddress): IPRange | undefined {
  const p = tryParseIp(a.address);
  if (!p || p.family !== a.family) return undefined;
  const max = MAX_BITS[a.family];
  const prefix = Number.isInteger(a.prefix) && a.prefix >= 0 && a.prefix <= max ? a.prefix : max;
  const r = IPRange.fromNumber(a.family, p.value, prefix);
  return r.isHost ? IPRange.fromNumber(a.family, p.value) : r;
}

/** Splits NIC addresses into link-locals, private and public ranges (P2PD's is_private). */
export function sortNicAddresses(family: Family, addresses: readonly LinkAddress[]) {
  const linkLocals: string[] = [];
  const priv: IPRange[] = [];
  const pub: IPRange[] = [];
  for (const a of addresses) {
    if (a.family !== family) continue;
    const r = nicRange(a);
    if (!r) continue;
    if (family === 6 && isLinkLocal6(r.value)) {
      if (!linkLocals.includes(r.ip)) linkLocals.push(r.ip);
      continue;
    }
    // Loopback and unspecified never reach the internet.
    const cls = r.classify();
    if (cls === "loopback" || (cls === "unspecified" && family === 6)) continue;
    if (r.ip === "0.0.0.0") continue;
    (r.isPrivate ? priv : pub).push(r);
  }
  return { linkLocals, priv, pub };
}

/** True when a TCP listener can bind `ip` (port 0); closed at once. */
export function canBind(ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(0, ip, () => srv.close(() => resolve(true)));
  });
}

/**
 * An assigned block (host bits clear) is only kept when its first and last hosts are bindable.
 * P2PD meant to check both but a `break` in `finally` tested only the first.
 */
export async function usableAddresses(addresses: readonly LinkAddress[]): Promise<LinkAddress[]> {
  const ok = await Promise.all(
    addresses.map(async (a) => {
      const r = nicRange(a);
      if (!r || r.isHost || r.size <= 2n) return true;
      const [first, last] = await Promise.all([canBind(r.at(1)), canBind(r.at(-2))]);
      return first && last;
    }),
  );
  return addresses.filter((_, i) => ok[i]);
}

async function lookup(
  resolver: ExternalIpResolver,
  family: Family,
  localAddress: string,
  signal: AbortSignal | undefined,
): Promise<IPRange> {
  const answer = await raceAbort(resolver({ family, localAddress, signal }), signal);
  const p = typeof answer === "string" ? tryParseIp(answer) : undefined;
  if (!p || p.family !== family) {
    throw new P2pdNetError("ERR_BAD_ADDRESS", `external IP lookup returned ${String(answer)}`);
  }
  return IPRange.fromNumber(family, p.value);
}

/**
 * P2PD's route grouping: private NIC addresses share one lookup and become the default route;
 * each public NIC address is checked alone, and forms its own route when the lookup sees it
 * unchanged (a real public address) or joins the route of what the lookup saw otherwise.
 */
export async function buildRoutes(opts: BuildRoutesOptions): Promise<BuiltRoutes> {
  const { family, signal } = opts;
  const { linkLocals, priv, pub } = sortNicAddresses(family, opts.addresses);
  const resolver = opts.resolveExternalIp;
  const errors: Error[] = [];
  // Ordered groups keyed by external address text.
  const groups = new Map<string, { ext: IPRange; nics: IPRange[] }>();
  let defaultKey: string | undefined;
  const join = (ext: IPRange, nic: IPRange | IPRange[]) => {
    const key = ext.toString();
    const g = groups.get(key) ?? { ext, nics: [] };
    g.nics.push(...(Array.isArray(nic) ? nic : [nic]));
    groups.set(key, g);
    return key;
  };

  const privLookup =
    priv[0] && resolver ? lookup(resolver, family, priv[0].ip, signal) : Promise.resolve(undefined);
  const pubLookups = pub.map((r) =>
    opts.skipResolve || !resolver
      ? Promise.resolve(r)
      : lookup(resolver, family, hostOf(r), signal),
  );
  const [privRes, ...pubRes] = await Promise.allSettled([privLookup, ...pubLookups]);
  if (signal?.aborted) throw new AbortedError(signal.reason);

  let privKey: string | undefined;
  if (privRes?.status === "fulfilled" && privRes.value) {
    privKey = join(privRes.value, []);
    defaultKey = privKey;
  } else if (privRes?.status === "rejected") {
    errors.push(privRes.reason as Error);
  }
  pub.forEach((nic, i) => {
    const res = pubRes[i];
    if (!res) return;
    if (res.status === "rejected") {
      errors.push(res.reason as Error);
      return;
    }
    if (res.value.contains(hostOf(nic))) {
      join(nic, nic); // genuinely public: [nic] -> [nic]
    } else {
      const key = join(res.value, nic); // public-looking but NATed: behaves like a private one
      defaultKey ??= key;
    }
  });
  defaultKey ??= groups.keys().next().value;

  const mk = (ext: IPRange[], nics: IPRange[]) =>
    new Route({
      family,
      nicIps: nics,
      extIps: ext,
      linkLocals,
      ...(opts.interfaceName !== undefined ? { interfaceName: opts.interfaceName } : {}),
      ...(opts.scopeId !== undefined ? { scopeId: opts.scopeId } : {}),
    });

  if (defaultKey === undefined) {
    // No lookup succeeded. Without a resolver (skipResolve) keep the private addresses with an
    // unknown external side instead of dropping the family.
    if (priv.length > 0 && !resolver && opts.skipResolve) {
      return { routes: [mk([], priv)], linkLocals, errors };
    }
    return { routes: [], linkLocals, errors };
  }
  const def = groups.get(defaultKey);
  if (def) {
    // Private addresses go first on their own group, after the others on a borrowed one.
    if (defaultKey === privKey) def.nics.unshift(...priv);
    else def.nics.push(...priv);
  }
  const ordered = [defaultKey, ...[...groups.keys()].filter((k) => k !== defaultKey)];
  const routes = ordered.flatMap((k) => {
    const g = groups.get(k);
    return g && g.nics.length > 0 ? [mk([g.ext], g.nics)] : [];
  });
  return { routes, linkLocals, errors };
}

/** For startLocal: one route with every NIC address (private first) and no external side. */
export function localRoutes(opts: Omit<BuildRoutesOptions, "resolveExternalIp" | "skipResolve">) {
  const { linkLocals, priv, pub } = sortNicAddresses(opts.family, opts.addresses);
  const nics = [...priv, ...pub];
  if (nics.length === 0 && linkLocals.length === 0) return { routes: [], linkLocals };
  const route = new Route({
    family: opts.family,
    nicIps: nics,
    linkLocals,
    ...(opts.interfaceName !== undefined ? { interfaceName: opts.interfaceName } : {}),
    ...(opts.scopeId !== undefined ? { scopeId: opts.scopeId } : {}),
  });
  return { routes: [route], linkLocals };
}
