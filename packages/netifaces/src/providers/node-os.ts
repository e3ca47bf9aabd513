import { networkInterfaces } from "node:os";
import type { Family } from "../endpoint.js";
import { tryParseIp } from "../ip.js";
import type { LinkAddress } from "./types.js";

/** Addresses per interface name from `os.networkInterfaces()` (names only for links with addresses). */
export interface OsAddresses {
  addresses: Map<string, LinkAddress[]>;
  macs: Map<string, string>;
  internal: Set<string>;
}

type NodeIfaceInfo = ReturnType<typeof networkInterfaces>[string];

/** Normalises Node's interface table (family is "IPv4"/"IPv6", or 4/6 on some Node 18 builds). */
export function fromNodeInterfaces(table: Record<string, NodeIfaceInfo>): OsAddresses {
  const addresses = new Map<string, LinkAddress[]>();
  const macs = new Map<string, string>();
  const internal = new Set<string>();
  for (const [name, list] of Object.entries(table)) {
    for (const a of list ?? []) {
      const fam = a.family as unknown;
      const family: Family | undefined =
        fam === "IPv4" || fam === 4 ? 4 : fam === "IPv6" || fam === 6 ? 6 : undefined;
      if (family === undefined) continue;
      const parsed = tryParseIp(a.address);
      if (!parsed || parsed.family !== family) continue;
      const prefix = a.cidr ? Number(a.cidr.split("/")[1]) : family === 4 ? 32 : 128;
      const entry: LinkAddress = { family, address: a.address.split("%")[0] as string, prefix };
      if (family === 6 && "scopeid" in a && typeof a.scopeid === "number" && a.scopeid !== 0) {
        entry.scopeIndex = a.scopeid;
      }
      const list2 = addresses.get(name) ?? [];
      list2.push(entry);
      addresses.set(name, list2);
      if (a.mac && a.mac !== "00:00:00:00:00:00") macs.set(name, a.mac);
      if (a.internal) internal.add(name);
    }
  }
  return { addresses, macs, internal };
}

export function osAddresses(): OsAddresses {
  return fromNodeInterfaces(networkInterfaces());
}
