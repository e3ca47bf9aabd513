import { createPortMapper, type PortMapper } from "@p2pd/nat";
import { codeOf } from "../errors.js";
import { isLoopback } from "../ip.js";
import type { Identity } from "./identity.js";

export interface PortMappingOptions {
  identity: Identity;
  signal: AbortSignal;
  log(line: string): void;
  /** Pass the log to the mapper too (only when the user gave one: its lines are many). */
  verbose: boolean;
  /** An interface became reachable through its gateway. */
  onMapped(): void;
}

/**
 * Maps the node port on the gateway (UPnP IGD, NAT-PMP, PCP via @p2pd/nat) for each IPv4 NIC.
 * A mapping that keeps the port number makes the interface reachable: its entry then carries
 * the gateway's external IP and NAT type 1 (open), since for the node port it is.
 * Returns the mapper (its close() removes our mappings).
 */
export function startPortMapping(o: PortMappingOptions): PortMapper {
  const { identity, signal } = o;
  const mapper = createPortMapper({ signal, ...(o.verbose ? { log: o.log } : {}) });
  const port = identity.port;
  identity.interfaces.forEach((iface, i) => {
    const nic = iface.ipv4;
    if (!nic || isLoopback(nic)) return;
    mapper
      .add({ port, proto: "tcp", internalAddress: nic, lifetime: 3600, signal })
      .then(async (m) => {
        if (signal.aborted) return;
        if (m.external.port !== port || !m.reachable) {
          o.log(
            `port mapping ${m.external.ip}:${m.external.port} not usable (${m.reason ?? "port changed"})`,
          );
          await mapper.remove({ port, proto: "tcp" }).catch(() => {});
          return;
        }
        identity.update(i, (cur) => ({
          ...cur,
          ext4: m.external.ip,
          nat: { type: 1, delta: cur.nat?.delta ?? { type: 0, value: 0 } },
          mapped: true,
        }));
        o.log(`port mapping via ${m.method}: ${m.external.ip}:${m.external.port}`);
        o.onMapped();
      })
      .catch((err) =>
        o.log(`port mapping on ${iface.name}: ${codeOf(err)} ${(err as Error).message}`),
      );
  });
  return mapper;
}
