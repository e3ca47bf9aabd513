import type { ExternalIpResolver } from "./build-routes.js";
import { throwIfAborted } from "./errors.js";
import { Interface } from "./interface.js";
import { isInternetLink, snapshot } from "./interfaces-list.js";
import type { NatInfo } from "./nat-info.js";
import type { NetInfoProvider } from "./providers/types.js";

export interface LoadInterfacesOptions {
  /** Interfaces to start (default: all, filtered by `filter`). */
  names?: string[];
  /** "internet" (default): links with a default route or a global IPv6; "all": every up, non-loopback link. */
  filter?: "internet" | "all";
  resolveExternalIp?: ExternalIpResolver;
  skipResolve?: boolean;
  timeoutMs?: number;
  /** Optional NAT test per interface (e.g. @p2pd/nat's loadNat); failures keep the default NAT. */
  loadNat?: (iface: Interface, signal?: AbortSignal) => Promise<NatInfo>;
  provider?: NetInfoProvider;
  signal?: AbortSignal;
}

/**
 * Starts several interfaces at once (P2PD's load_interfaces) and keeps those with at least one
 * route. Per-interface failures drop that interface; an abort rejects the whole call.
 */
export async function loadInterfaces(opts: LoadInterfacesOptions = {}): Promise<Interface[]> {
  const { signal } = opts;
  const snap = await snapshot(opts);
  let names = opts.names ?? snap.links.filter((l) => l.up && !l.internal).map((l) => l.name);
  if (!opts.names && (opts.filter ?? "internet") === "internet") {
    const internet = names.filter((n) => isInternetLink(snap, n));
    // P2PD: if the route table gives nothing, fall back to every candidate.
    if (internet.length > 0) names = internet;
  }
  names = [...new Set(names)];
  const started = await Promise.all(
    names.map(async (name) => {
      try {
        const iface = await Interface.start(name, opts);
        if (opts.loadNat && iface.stack !== "unknown") {
          try {
            iface.nat = await opts.loadNat(iface, signal);
          } catch {
            throwIfAborted(signal);
          }
        }
        return iface;
      } catch {
        throwIfAborted(signal);
        return undefined;
      }
    }),
  );
  return started.filter((i): i is Interface => i !== undefined && i.stack !== "unknown");
}
