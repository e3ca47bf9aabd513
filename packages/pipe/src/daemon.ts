import { EventEmitter } from "node:events";
import { networkInterfaces } from "node:os";
import { type Endpoint, type Family, isLinkLocal6, type RouteLike } from "@p2pd/netifaces";
import { type BindSpec, splitScope } from "./address.js";
import { abortError, PipeError } from "./errors.js";
import { bindEndpoint, isRouteLike, pipeOpen } from "./open.js";
import type { PipeOptions } from "./options.js";
import type { Pipe, Proto } from "./pipe.js";
import { type PortsLike, parsePorts } from "./ports.js";
import type { Message } from "./subscription.js";

/** What listenAll needs from a netifaces Interface: its families and a route per family. */
export interface InterfaceLike {
  supported(): Family[];
  route(family: Family): RouteLike;
}

/** What listenAll needs from a netifaces RoutePool: its routes (the first 10 are used, as P2PD). */
export interface RoutePoolLike {
  readonly family: Family;
  readonly routes: readonly RouteLike[];
}

/**
 * Where a daemon listens: an Interface (one route per family), a RoutePool, a Route (or any
 * RouteLike), a bind spec, a host string, or undefined (wildcard).
 */
export type DaemonTarget =
  | InterfaceLike
  | RoutePoolLike
  | RouteLike
  | BindSpec
  | string
  | undefined;

function isInterfaceLike(t: unknown): t is InterfaceLike {
  return (
    typeof t === "object" &&
    t !== null &&
    typeof (t as InterfaceLike).supported === "function" &&
    typeof (t as InterfaceLike).route === "function"
  );
}

function isRoutePoolLike(t: unknown): t is RoutePoolLike {
  return (
    typeof t === "object" &&
    t !== null &&
    Array.isArray((t as RoutePoolLike).routes) &&
    !isRouteLike(t)
  );
}

/** Copies a netifaces Route when it can, so binding never touches the caller's object. */
function copyRoute(r: RouteLike): RouteLike {
  const c = (r as RouteLike & { copy?: () => RouteLike }).copy;
  return typeof c === "function" ? c.call(r) : r;
}

export interface DaemonOptions {
  /** Called for every message on every server (unless a subclass overrides onMessage). */
  onMessage?: (msg: Message) => unknown;
  /** Called with each accepted TCP child pipe. */
  onConnection?: (child: Pipe) => unknown;
  /** Options for every server pipe (framing, queues...). */
  pipe?: PipeOptions;
}

export interface ListenAllOptions {
  /** Only this family (default "any": every family the targets have). */
  family?: Family | "any";
  /** For global IPv6 binds, also listen on the same NIC's first link-local (default true). */
  linkLocal?: boolean;
  /** Throw ERR_FAMILY when a target lacks the requested family (default: skip it). */
  errorOnFamily?: boolean;
  /** Keep the listeners that worked instead of closing all on the first failure. */
  bestEffort?: boolean;
  signal?: AbortSignal;
}

export interface DaemonServer {
  proto: Proto;
  pipe: Pipe;
  /** The bound address (actual port). */
  local: Endpoint;
  route: RouteLike | undefined;
  /** True for the implicit IPv6 link-local companion of a global bind. */
  linkLocal: boolean;
}

type Plan = { spec: BindSpec; proto: Proto; route: RouteLike | undefined; linkLocal: boolean };

/** The first fe80:: address of the NIC that owns `host` (Linux names it by interface). */
export function linkLocalFor(host: string): { host: string; scopeId: string } | undefined {
  const ifs = networkInterfaces();
  for (const [name, addrs] of Object.entries(ifs)) {
    if (!addrs?.some((a) => a.family === "IPv6" && a.address === host)) continue;
    const ll = addrs.find((a) => a.family === "IPv6" && isLinkLocal6(a.address));
    if (ll) return { host: splitScope(ll.address).host, scopeId: name };
  }
  return undefined;
}

/** A netifaces Route's own link-local (duck-typed: `linkLocal()` plus `scopeId`/`interfaceName`). */
function routeLinkLocal(
  route: RouteLike | undefined,
): { host: string; scopeId: string } | undefined {
  const r = route as
    | (RouteLike & {
        linkLocal?: () => string | undefined;
        scopeId?: string;
        interfaceName?: string;
      })
    | undefined;
  const ll = typeof r?.linkLocal === "function" ? r.linkLocal() : undefined;
  if (!ll || !isLinkLocal6(ll)) return undefined;
  const { host, scopeId } = splitScope(ll);
  const scope = scopeId ?? r?.interfaceName ?? r?.scopeId;
  return scope ? { host, scopeId: scope } : undefined;
}

/**
 * A server on many routes, ports and protocols at once (P2PD's Daemon). Pass `onMessage` or
 * subclass and override `onMessage(msg)`; reply with `msg.pipe.send(data, msg.from)`.
 */
export class Daemon extends EventEmitter<{ error: [Error] }> {
  private readonly opts: DaemonOptions;
  private list: DaemonServer[] = [];
  /** The last error of any server (handler failures included), also emitted as 'error'. */
  lastError: Error | undefined;

  constructor(opts: DaemonOptions = {}) {
    super();
    this.opts = opts;
  }

  /** Message handler for every server; override in a subclass. */
  onMessage(msg: Message): unknown {
    return this.opts.onMessage?.(msg);
  }

  /** New-TCP-connection handler; override in a subclass. */
  onConnection(child: Pipe): unknown {
    return this.opts.onConnection?.(child);
  }

  get servers(): ReadonlyArray<DaemonServer> {
    return this.list;
  }

  /** The port of the i-th server (P2PD's get_listen_port). */
  listenPort(i = 0): number {
    const s = this.list[i];
    if (!s) throw new PipeError("ERR_CLOSED", `no server #${i}`);
    return s.local.port;
  }

  /**
   * Listens on every target × port × proto; IPv6 globals also get their link-local. All or
   * nothing: if one listen fails, the ones already opened are closed and the error is thrown.
   */
  async listenAll(
    targets: DaemonTarget | DaemonTarget[],
    ports: PortsLike,
    protos: Proto | Proto[],
    af: Family | "any" | ListenAllOptions = "any",
  ): Promise<this> {
    const o: ListenAllOptions = typeof af === "object" ? af : { family: af };
    const family = o.family ?? "any";
    if (family !== "any" && family !== 4 && family !== 6) {
      throw new PipeError("ERR_FAMILY", `family must be 4, 6 or "any", got ${String(family)}`);
    }
    const portList = parsePorts(ports);
    const protoList = (Array.isArray(protos) ? protos : [protos]).map((p) => {
      if (p !== "tcp" && p !== "udp")
        throw new PipeError("ERR_BAD_ARGUMENT", `proto must be tcp or udp, got ${String(p)}`);
      return p;
    });
    const tlist: Array<RouteLike | BindSpec | string | undefined> = [];
    for (const t of Array.isArray(targets) ? targets : [targets]) {
      if (isInterfaceLike(t)) {
        const have = t.supported();
        const want: Family[] = family === "any" ? have : [family];
        for (const f of want) {
          if (!have.includes(f)) {
            if (o.errorOnFamily)
              throw new PipeError("ERR_FAMILY", `interface has no IPv${f} route`);
            continue;
          }
          tlist.push(t.route(f));
        }
      } else if (isRoutePoolLike(t)) {
        if (family !== "any" && t.family !== family) {
          if (o.errorOnFamily) throw new PipeError("ERR_FAMILY", `route pool is IPv${t.family}`);
          continue;
        }
        tlist.push(...t.routes.slice(0, 10).map(copyRoute));
      } else {
        tlist.push(t);
      }
    }
    const plans: Plan[] = [];
    for (const t of tlist) {
      for (const base of await this.baseBinds(t, family, o)) {
        for (const port of portList) {
          for (const proto of protoList) {
            plans.push({
              spec: { ...base.spec, port },
              proto,
              route: base.route,
              linkLocal: false,
            });
            if (base.linkLocal && o.linkLocal !== false) {
              plans.push({
                spec: { ...base.linkLocal, family: 6, port },
                proto,
                route: base.route,
                linkLocal: true,
              });
            }
          }
        }
      }
    }
    return this.open(plans, o);
  }

  /** Listens on each target exactly as given (its bind port), e.g. `[[{host: "127.0.0.1", port: 8000}, "tcp"]]`. */
  async listenSpecific(
    targets: ReadonlyArray<readonly [RouteLike | BindSpec | Endpoint, Proto]>,
    opts: { signal?: AbortSignal; bestEffort?: boolean } = {},
  ): Promise<this> {
    const plans: Plan[] = targets.map(([t, proto]) => {
      if (proto !== "tcp" && proto !== "udp")
        throw new PipeError("ERR_BAD_ARGUMENT", `bad proto ${String(proto)}`);
      if (isRouteLike(t)) return { spec: { ...t.nicBind() }, proto, route: t, linkLocal: false };
      return { spec: { ...t }, proto, route: undefined, linkLocal: false };
    });
    return this.open(plans, opts);
  }

  private async baseBinds(
    t: RouteLike | BindSpec | string | undefined,
    family: Family | "any",
    o: ListenAllOptions,
  ): Promise<
    Array<{
      spec: BindSpec;
      route: RouteLike | undefined;
      linkLocal?: { host: string; scopeId: string };
    }>
  > {
    const skip = (f: Family, what: string) => {
      if (o.errorOnFamily)
        throw new PipeError("ERR_FAMILY", `${what} has no IPv${f === 4 ? 6 : 4}`);
      return [];
    };
    let spec: BindSpec;
    let route: RouteLike | undefined;
    if (isRouteLike(t)) {
      route = t;
      const ep = copyRoute(t).nicBind();
      spec = { host: ep.host, family: ep.family, ...(ep.scopeId ? { scopeId: ep.scopeId } : {}) };
    } else if (typeof t === "string") {
      spec = { host: t };
    } else if (t === undefined || t === null) {
      spec = {};
    } else {
      spec = { ...t };
    }
    if (!spec.host) {
      const fams: Family[] = family === "any" ? (spec.family ? [spec.family] : [4, 6]) : [family];
      return fams.map((f) => ({ spec: { ...spec, family: f }, route }));
    }
    const ep = await bindEndpoint(spec, undefined, o.signal);
    if (family !== "any" && ep.family !== family) return skip(ep.family, ep.host);
    const resolved: BindSpec = {
      host: ep.host,
      family: ep.family,
      ...(ep.scopeId ? { scopeId: ep.scopeId } : {}),
    };
    const global6 =
      ep.family === 6 && !isLinkLocal6(ep.host) && ep.host !== "::" && ep.host !== "::1";
    const ll = global6 ? (routeLinkLocal(route) ?? linkLocalFor(ep.host)) : undefined;
    return [{ spec: resolved, route, ...(ll ? { linkLocal: ll } : {}) }];
  }

  private async open(
    plans: Plan[],
    o: { signal?: AbortSignal; bestEffort?: boolean },
  ): Promise<this> {
    const opened: DaemonServer[] = [];
    const pipeOpts: PipeOptions = {
      autoSubscribe: false,
      ...this.opts.pipe,
      onMessage: (m) => this.onMessage(m),
      onConnection: (c) => this.onConnection(c),
    };
    if (o.signal) pipeOpts.signal = o.signal;
    for (const plan of plans) {
      try {
        if (o.signal?.aborted) throw abortError(o.signal, "listenAll");
        let spec = plan.spec;
        // The link-local companion shares the port the global bind got (also when it was 0).
        const prev = opened.at(-1);
        if (plan.linkLocal && !spec.port && prev && prev.proto === plan.proto) {
          spec = { ...spec, port: prev.local.port };
        }
        const pipe = await pipeOpen(plan.proto, spec, undefined, pipeOpts);
        pipe.on("error", (e) => {
          this.lastError = e;
          if (this.listenerCount("error") === 0) return;
          try {
            this.emit("error", e);
          } catch {
            // A throwing listener must not unwind into the pipe's socket callbacks.
          }
        });
        opened.push({
          proto: plan.proto,
          pipe,
          local: pipe.local,
          route: plan.route,
          linkLocal: plan.linkLocal,
        });
      } catch (e) {
        if (o.bestEffort || plan.linkLocal) continue;
        await Promise.all(opened.map((s) => s.pipe.close()));
        throw e;
      }
    }
    this.list = [...this.list, ...opened];
    return this;
  }

  /** Closes every server (and so every accepted client). */
  async close(): Promise<void> {
    const l = this.list;
    this.list = [];
    await Promise.all(l.map((s) => s.pipe.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
