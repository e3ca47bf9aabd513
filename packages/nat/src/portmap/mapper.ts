// The port mapper: picks a method (methods/), falls back in order, renews leases, keeps the
// mappings it made and deletes them on close(). What each method sends lives in its own file.
import { isIPv6 } from "node:net";
import { type SignalArg, signalOf, withDeadline } from "./deadline.js";
import { EpochWatch } from "./epoch.js";
import { DoubleNatError, PortMapClosedError, PortMapNoGatewayError } from "./errors.js";
import { current, type Held, keyOf, Leases } from "./lease.js";
import { createContext } from "./methods/context.js";
import type { MapMethod } from "./methods/method.js";
import { natpmpMethod } from "./methods/natpmp.js";
import { pcpMethod } from "./methods/pcp.js";
import { pinholeMethod } from "./methods/pinhole.js";
import { upnpMethod } from "./methods/upnp.js";
import { judgeExternal } from "./reach.js";
import { checkFamily, checkLifetime, checkRequest, fallback } from "./request.js";
import type {
  ExternalAddress,
  MapRequest,
  PortMapMethod,
  PortMapper,
  PortMapperOptions,
  PortMapping,
} from "./types.js";

const DEFAULT_ORDER: PortMapMethod[] = ["pcp", "natpmp", "upnp", "upnp-pinhole"];
// Deleting another process's mapping without its handle: UPnP by external port, NAT-PMP by internal.
const BY_PORT: PortMapMethod[] = ["upnp", "natpmp"];

export function createPortMapper(options: PortMapperOptions = {}): PortMapper {
  const names = options.methods ?? DEFAULT_ORDER;
  const log = options.log;
  // `life` bounds discovery and the gateway look-ups, and ends last in close(); `requests` bounds
  // every caller request and renewal and ends first, so that nothing is mapped once close() began.
  const life = new AbortController();
  const requests = new AbortController();
  let closed = false;

  const epochs = new EpochWatch();
  const ctx = createContext(options, life.signal, (gateway, epoch) => {
    const from = epochs.saw(gateway, epoch);
    if (from === undefined) return;
    // The gateway lost every mapping: re-make them now instead of at the next renewal.
    log?.(`gateway epoch went from ${from} to ${epoch}: it lost its mappings, re-making them`);
    leases.renewNow(gateway);
  });
  const timeoutMs = ctx.timeoutMs;
  const all: Record<PortMapMethod, MapMethod> = {
    pcp: pcpMethod(ctx),
    natpmp: natpmpMethod(ctx),
    upnp: upnpMethod(ctx),
    "upnp-pinhole": pinholeMethod(ctx),
  };
  const methods = names.flatMap((n) => all[n] ?? []);
  const leases = new Leases({
    methods: all,
    signal: requests.signal,
    renew: options.renew,
    onChange: options.onChange,
    log,
  });
  // IPv4 UPnP discovery runs in the background from the start; add() waits for it only when it
  // gets to the "upnp" method.
  if (names.includes("upnp")) ctx.discover(4).catch(() => {});

  const onAbort = (): void => {
    void close().catch(() => {});
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });

  function both(signal?: AbortSignal): AbortSignal {
    return signal ? AbortSignal.any([signal, requests.signal]) : requests.signal;
  }

  async function add(r: MapRequest): Promise<PortMapping> {
    if (closed) throw new PortMapClosedError();
    const proto = checkRequest(r);
    const lifetime = checkLifetime(r.lifetime);
    const family =
      checkFamily(r.family) ?? (r.internalAddress && isIPv6(r.internalAddress) ? 6 : 4);
    const req = {
      port: r.port,
      proto,
      lifetime,
      family,
      externalPort: r.externalPort ?? r.port,
      ...(r.internalAddress ? { internalAddress: r.internalAddress } : {}),
    };
    // IPv6 needs no translation: only a firewall pinhole, via PCP or UPnP.
    const order = methods.filter((m) => m.supports(family));
    if (order.length === 0)
      throw new PortMapNoGatewayError(`no method for IPv${family} in [${names.join(", ")}]`);
    const signal = both(r.signal);
    return fallback(order, signal, r.signal, log, async (method) => {
      const got = await method.map(req, signal);
      const judged = judgeExternal(
        got.external.ip,
        family === 6 ? undefined : options.observedExternalIp,
      );
      const h: Held = {
        target: { ...req, externalPort: got.external.port },
        mapping: {
          ...got,
          ...(got.lifetime ? { expiresAt: Date.now() + got.lifetime * 1000 } : {}),
          reachable: judged.reachable,
          ...(judged.reason ? { reason: judged.reason } : {}),
          renewals: 0,
        },
      };
      log?.(`${method.name}: mapped ${proto}/${r.port} -> ${got.external.ip}:${got.external.port}`);
      // Best-effort deletion of what was just granted, on its own deadline.
      const undo = (): Promise<unknown> =>
        withDeadline(undefined, timeoutMs, "delete", (s) => method.unmap(current(h), s)).catch(
          () => {},
        );
      // Granted in the very moment close() began: not ours to keep.
      if (closed) {
        await undo();
        throw new PortMapClosedError();
      }
      if (!judged.reachable && options.doubleNat === "throw") {
        await undo();
        throw new DoubleNatError(
          got.external.ip,
          `${got.external.ip} (${judged.reason}) from ${method.name} on ${got.gateway}`,
        );
      }
      leases.hold(h);
      return { ...h.mapping };
    });
  }

  const remove: PortMapper["remove"] = async (r) => {
    if (closed) throw new PortMapClosedError();
    // Port 0 must never reach a gateway: a NAT-PMP delete of internal port 0 deletes them all.
    const proto = checkRequest(r);
    const family = checkFamily(r.family);
    const signal = both(r.signal);
    const port = r.port;
    const h = leases.drop(
      (family ? [family] : [4, 6]).map((f) => keyOf({ family: f, proto, port })),
    );
    if (h) {
      const m = h.mapping;
      await all[m.method].unmap(current(h), signal);
      return { method: m.method, external: { ip: m.external.ip, port: m.external.port } };
    }
    // Not ours: PCP mappings and pinholes need the handle from the process that made them.
    const externalPort = r.externalPort ?? r.port;
    const byHandle = r.method === undefined ? undefined : all[r.method];
    if (r.handle !== undefined && byHandle?.checkHandle) {
      byHandle.checkHandle(r.handle);
      const got = await byHandle.unmap(
        {
          port,
          proto,
          externalPort,
          family: family ?? (byHandle.supports(4) ? 4 : 6),
          handle: r.handle,
        },
        signal,
      );
      return {
        method: byHandle.name,
        external: { ...(got.ip ? { ip: got.ip } : {}), port: got.port },
      };
    }
    const order = BY_PORT.filter((n) => names.includes(n)).map((n) => all[n]);
    return fallback(order, signal, r.signal, log, async (m) => {
      await m.unmap({ port, proto, externalPort, family: 4 }, signal);
      return { method: m.name, external: { port: externalPort } };
    });
  };

  async function externalAddress(o?: SignalArg): Promise<ExternalAddress> {
    if (closed) throw new PortMapClosedError();
    const caller = signalOf(o);
    const signal = both(caller);
    const order = methods.flatMap((m) =>
      m.externalIp ? [{ name: m.name, ask: m.externalIp }] : [],
    );
    return fallback(order, signal, caller, log, async (m) => {
      const { ip, gateway } = await m.ask(signal);
      const j = judgeExternal(ip, options.observedExternalIp);
      return {
        ip,
        method: m.name,
        gateway,
        reachable: j.reachable,
        ...(j.reason ? { reason: j.reason } : {}),
      };
    });
  }

  let closing: Promise<void> | undefined;
  function close(o: { removeMappings?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    // A second close (e.g. the signal's and the caller's) waits for the first one.
    closing ??= closeOnce(o);
    return closing;
  }

  async function closeOnce(o: { removeMappings?: boolean; signal?: AbortSignal }): Promise<void> {
    closed = true;
    requests.abort(new PortMapClosedError());
    options.signal?.removeEventListener("abort", onAbort);
    const mine = leases.close();
    // Deletions get their own short deadline: the life signal is about to be aborted.
    if (o.removeMappings !== false)
      await withDeadline(o.signal, timeoutMs * 2, "close", (signal) =>
        Promise.allSettled(mine.map((h) => all[h.mapping.method].unmap(current(h), signal))),
      ).catch(() => {});
    life.abort(new PortMapClosedError());
  }

  if (options.signal?.aborted) onAbort();

  return {
    add,
    remove,
    list: () => leases.list(),
    listGateway: async (o) => {
      if (closed) throw new PortMapClosedError();
      const signal = both(signalOf(o));
      return (await ctx.igd(4, signal)).listPortMappings(signal);
    },
    externalAddress,
    close,
  };
}
