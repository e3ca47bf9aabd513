import { PortMapNoGatewayError } from "../errors.js";
import { defaultGateway, defaultGateway6 } from "../gateway.js";
import { NATPMP_PORT } from "../natpmp.js";
import { discoverIgd, SSDP_ADDRESS } from "../ssdp.js";
import type { PortMapperOptions } from "../types.js";
import { udpExchange } from "../udp.js";
import { UpnpGateway } from "../upnp.js";
import type { MethodContext } from "./method.js";

/**
 * The state the methods share, bounded by `life` (it ends last in close()). `sawEpoch` hears
 * every NAT-PMP/PCP answer's epoch, for the mapper's reboot check.
 */
export function createContext(
  options: PortMapperOptions,
  life: AbortSignal,
  sawEpoch: (gateway: string, epoch: number) => void,
): MethodContext & { discover(family: 4 | 6): Promise<UpnpGateway> } {
  const timeoutMs = options.timeoutMs ?? 2000;
  const log = options.log;
  const routeFile = (file?: string) => ({ signal: life, ...(file ? { routeFile: file } : {}) });
  const routes = {
    4: () => options.gateway ?? defaultGateway(routeFile(options.routeFile)),
    // IPv6 PCP goes to the IPv6 default gateway (usually link-local, scoped to its interface).
    6: () => options.gateway6 ?? defaultGateway6(routeFile(options.routeFile6)),
  };
  // Looked up once: IPv4 at once (SSDP unicasts to it), IPv6 on first use.
  const gateways = new Map<4 | 6, Promise<string | undefined>>();
  const lookUp = (family: 4 | 6): Promise<string | undefined> => {
    let p = gateways.get(family);
    if (!p) {
      p = Promise.resolve(routes[family]());
      p.catch(() => {});
      gateways.set(family, p);
    }
    return p;
  };
  lookUp(4);

  // One discovery per family, started lazily and shared; a failed one is not cached (the next
  // request searches again: the router may be back). Pinholes need the IGD over IPv6 (secure
  // mode checks the request's source address), so IPv6 has its own, started on first use.
  const igds = new Map<4 | 6, Promise<UpnpGateway>>();
  function discover(family: 4 | 6): Promise<UpnpGateway> {
    const cached = igds.get(family);
    if (cached) return cached;
    const p = findIgd(family);
    igds.set(family, p);
    p.catch(() => {
      if (igds.get(family) === p) igds.delete(family);
    });
    return p;
  }
  async function findIgd(family: 4 | 6): Promise<UpnpGateway> {
    const v6 = family === 6 ? "IPv6 " : "";
    let location = family === 4 ? options.upnpLocation : options.upnpLocation6;
    if (!location) {
      const gw = family === 4 ? await lookUp(4) : undefined;
      const addresses =
        family === 4
          ? (options.ssdpAddresses ?? [SSDP_ADDRESS, ...(gw ? [gw] : [])])
          : options.ssdpAddresses6;
      const found = await discoverIgd({
        signal: life,
        family,
        timeoutMs: options.discoveryTimeoutMs ?? 1500,
        ...(addresses ? { addresses } : {}),
        ...(log ? { log } : {}),
      });
      if (!found) throw new PortMapNoGatewayError(`UPnP: no IGD answered the ${v6}SSDP search`);
      log?.(`upnp: ${v6}IGD at ${found.location}`);
      location = found.location;
    }
    return UpnpGateway.fromLocation(location, { signal: life, timeoutMs });
  }

  return {
    timeoutMs,
    description: options.description ?? "p2pd",
    log,
    discover,
    async gateway(family) {
      const gw = await lookUp(family);
      if (gw) return gw;
      const v6 = family === 6 ? "IPv6 " : "";
      throw new PortMapNoGatewayError(`no default ${v6}gateway (no default route)`);
    },
    igd: (family, signal) => abortable(discover(family), signal),
    async exchange(x) {
      let local = "";
      const r = await udpExchange({
        ...x,
        port: options.natpmpPort ?? NATPMP_PORT,
        build: (l) => {
          local = l;
          return x.build(l);
        },
        timeoutMs,
      });
      sawEpoch(x.gateway, r.epoch);
      return { r, local };
    },
  };
}

// Shared discovery outlives one request: a request's abort must not wait for it.
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
