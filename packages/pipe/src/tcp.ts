import type { EventEmitter } from "node:events";
import * as net from "node:net";
import * as tls from "node:tls";
import type { Endpoint, RouteLike } from "@p2pd/netifaces";
import { checkPort, type DestLike, fromNode, nodeHost, splitScope } from "./address.js";
import { armDeadline, armTimeout } from "./deadline.js";
import { abortError, PipeError, type PipeErrorCode } from "./errors.js";
import { adoptInPlace, inPlaceHeader, type SlabReader, slabReaderFor } from "./inplace.js";
import type { ResolvedOptions } from "./options.js";
import { Pipe, type SendOptions } from "./pipe.js";
import { errno, StreamPipe } from "./stream.js";

const BIND_ERRORS = new Set(["EADDRINUSE", "EADDRNOTAVAIL", "EACCES", "EINVAL"]);

/** A connected TCP pipe: a client, or a child accepted by a TcpServerPipe (a StreamPipe over its socket). */
export class TcpPipe extends StreamPipe {
  declare readonly proto: "tcp";
  declare readonly kind: "tcp-client" | "tcp-child";
  /** The underlying socket (for STUN over TCP, TLS upgrades, stats). */
  readonly socket: net.Socket;

  constructor(
    socket: net.Socket,
    kind: "tcp-client" | "tcp-child",
    cfg: ResolvedOptions,
    route: RouteLike | undefined,
    parent?: Pipe,
    reader?: SlabReader,
  ) {
    socket.setNoDelay(cfg.noDelay);
    super(
      socket,
      {
        kind,
        proto: "tcp",
        local: fromNode(socket.localAddress ?? "", socket.localPort ?? 0),
        remote: fromNode(socket.remoteAddress ?? "", socket.remotePort ?? 0),
        label: "tcp",
        reader,
      },
      cfg,
      route,
      parent,
    );
    this.socket = socket;
  }

  protected resetStream(): void {
    this.socket.resetAndDestroy();
  }
}

/** A listening TCP pipe. Each connection becomes a TcpPipe child (accept() / async iteration). */
export class TcpServerPipe extends Pipe {
  readonly proto = "tcp" as const;
  readonly kind = "tcp-server" as const;
  readonly local: Endpoint;
  readonly remote = undefined;
  readonly server: net.Server;
  private readonly kids = new Set<TcpPipe>();
  private pending: TcpPipe[] = [];
  private waiters: Array<{ resolve: (p: TcpPipe) => void; reject: (e: Error) => void }> = [];
  private readonly childCfg: ResolvedOptions;

  constructor(server: net.Server, cfg: ResolvedOptions, route: RouteLike | undefined) {
    super(cfg, route);
    this.server = server;
    const a = server.address() as net.AddressInfo;
    this.local = Object.freeze(fromNode(a.address, a.port));
    // Children get their own callback lists (P2PD shared the server's lists by reference).
    this.childCfg = { ...cfg, onMessage: undefined, onEnd: undefined, onConnection: undefined };
    if (cfg.autoSubscribe === true) this.subscribe();
    server.on("connection", (sock) => {
      // A throw here would be an uncaught exception in the accept loop: report it instead.
      try {
        this.adopt(sock);
      } catch (e) {
        sock.destroy();
        this.reportError(e);
      }
    });
    server.on("error", (e) => this.reportError(new PipeError("ERR_BIND", e.message, { cause: e })));
    const up = cfg.onConnection;
    if (up) this.on("connection", (child) => this.runCb(up, child));
  }

  protected canPauseInput(): boolean {
    return true;
  }

  /** The connected children (removed when they close). */
  get children(): ReadonlySet<TcpPipe> {
    return this.kids;
  }

  private adopt(sock: net.Socket): void {
    if (!this.isOpen) {
      sock.destroy();
      return;
    }
    // A pauseOnConnect server (length framing): re-open the socket to read frames in place.
    let reader: SlabReader | undefined;
    if ((this.server as net.Server & { pauseOnConnect?: boolean }).pauseOnConnect === true) {
      reader = slabReaderFor(this.childCfg.framing, this.childCfg.maxMessageBytes);
      const inPlace = reader && adoptInPlace(sock, this.server, reader);
      if (inPlace) sock = inPlace;
      else {
        reader = undefined;
        sock.resume();
      }
    }
    const child = new TcpPipe(sock, "tcp-child", this.childCfg, this.route, this, reader);
    this.kids.add(child);
    child.on("error", (e) => this.reportError(e));
    child.onEnd(() => {
      this.kids.delete(child);
      this.pending = this.pending.filter((p) => p !== child);
    });
    this.emitSafe("connection", child);
    const w = this.waiters.shift();
    if (w) {
      w.resolve(child);
    } else {
      this.pending.push(child);
      if (this.cfg.maxQueue > 0 && this.pending.length > this.cfg.maxQueue) this.pending.shift();
    }
  }

  /** The next accepted client, in accept order. Rejects ERR_CLOSED / ERR_ABORTED / ERR_RECV_TIMEOUT. */
  accept(opts: { signal?: AbortSignal; timeout?: number } = {}): Promise<TcpPipe> {
    const ready = this.pending.shift();
    if (ready) return Promise.resolve(ready);
    if (!this.isOpen) return Promise.reject(this.closedError());
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(abortError(signal, "accept"));
    return new Promise<TcpPipe>((resolve, reject) => {
      const cleanup = () => {
        disarm();
        this.waiters = this.waiters.filter((x) => x !== w);
      };
      const w = {
        resolve: (p: TcpPipe) => {
          cleanup();
          resolve(p);
        },
        reject: (e: Error) => {
          cleanup();
          reject(e);
        },
      };
      const ms = opts.timeout ?? 0;
      const disarm = armDeadline(
        w.reject,
        signal,
        "accept",
        ms,
        () => new PipeError("ERR_RECV_TIMEOUT", `no connection within ${ms} ms`),
      );
      this.waiters.push(w);
    });
  }

  /** Async iteration of accepted clients until the server closes. */
  async *clients(opts: { signal?: AbortSignal } = {}): AsyncGenerator<TcpPipe> {
    for (;;) {
      try {
        yield await this.accept(opts);
      } catch (e) {
        if (e instanceof PipeError && e.code === "ERR_CLOSED") return;
        throw e;
      }
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<TcpPipe> {
    return this.clients();
  }

  /** Sends to the connected child whose address is `dest` (ERR_NO_DEST without one). */
  send(data: Uint8Array | string, dest?: DestLike, opts?: SendOptions): Promise<number> {
    if (!dest) {
      return Promise.reject(
        new PipeError("ERR_NO_DEST", "a TCP server pipe needs the client's address"),
      );
    }
    if (!this.isOpen) return Promise.reject(this.closedError());
    const { host, scopeId } = splitScope(dest.host);
    const scope = dest.scopeId ?? scopeId ?? "";
    for (const k of this.kids) {
      const r = k.remote;
      if (r.port === dest.port && r.host === host && (r.scopeId ?? "") === scope)
        return k.send(data, undefined, opts);
    }
    return Promise.reject(
      new PipeError("ERR_NO_DEST", `no client ${dest.host}:${dest.port} on this server`),
    );
  }

  protected async closeTransport(reset: boolean): Promise<void> {
    const err = this.closedError();
    for (const w of [...this.waiters]) w.reject(err);
    this.pending = [];
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.kids].map((k) => k.close({ reset })));
    await closed;
  }
}

/** Opens a TCP connection from `bind` to `dest` (ERR_CONNECT, ERR_CONNECT_TIMEOUT, ERR_BIND, ERR_ABORTED). */
export function connectTcp(
  bind: Endpoint,
  dest: Endpoint,
  cfg: ResolvedOptions,
  route: RouteLike | undefined,
  signal: AbortSignal | undefined,
  serverName?: string,
): Promise<TcpPipe> {
  if (signal?.aborted) return Promise.reject(abortError(signal, "connect"));
  checkPort(dest.port, 1);
  const wild = bind.host === "0.0.0.0" || bind.host === "::";
  const opts: net.TcpNetConnectOpts = {
    host: nodeHost(dest),
    port: dest.port,
    family: dest.family,
    autoSelectFamily: false,
  };
  if (!wild) opts.localAddress = nodeHost(bind);
  if (bind.port) opts.localPort = bind.port;
  // Length-framed plain TCP reads frames in place (inplace.ts); TLS reads through its socket.
  const reader = cfg.tls ? undefined : slabReaderFor(cfg.framing, cfg.maxMessageBytes);
  const sock = new net.Socket(
    reader ? ({ onread: reader.onread } as net.SocketConstructorOpts) : undefined,
  );
  const where = `${nodeHost(dest)}:${dest.port}`;
  const connected = setupStep(sock, "connect", {
    signal,
    what: "connect",
    ms: cfg.connectTimeoutMs,
    code: "ERR_CONNECT_TIMEOUT",
    message: `no TCP connection to ${where} within ${cfg.connectTimeoutMs} ms`,
    toError: (e) => {
      const code = errno(e);
      return BIND_ERRORS.has(code)
        ? new PipeError("ERR_BIND", `cannot bind ${nodeHost(bind)}:${bind.port} (${code})`, {
            cause: e,
          })
        : new PipeError("ERR_CONNECT", `cannot connect to ${where} (${code || e.message})`, {
            cause: e,
          });
    },
    destroy: () => sock.destroy(),
  });
  try {
    sock.connect(opts);
  } catch (e) {
    sock.destroy();
    return Promise.reject(e);
  }
  return connected.then(() =>
    cfg.tls
      ? startTls(sock, dest, cfg, signal, serverName).then(
          (secure) => new TcpPipe(secure, "tcp-client", cfg, route),
        )
      : new TcpPipe(sock, "tcp-client", cfg, route, undefined, reader),
  );
}

/**
 * One setup step (connect, TLS handshake): resolves on `event`; fails with `toError` of the
 * emitter's 'error', ERR_ABORTED on `signal`, or `code` after `ms`, and then runs `destroy`.
 */
function setupStep(
  em: EventEmitter,
  event: string,
  s: {
    signal: AbortSignal | undefined;
    what: string;
    ms: number;
    code: PipeErrorCode;
    message: string;
    toError: (e: Error) => PipeError;
    destroy: () => void;
  },
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      disarm();
      em.off("error", onError);
    };
    const fail = (e: Error) => {
      cleanup();
      s.destroy();
      reject(e);
    };
    const onError = (e: Error) => fail(s.toError(e));
    em.on("error", onError);
    const disarm = armTimeout(fail, s.signal, s.what, s.ms, s.code, s.message);
    em.once(event, () => {
      cleanup();
      resolve();
    });
  });
}

/** Runs a TLS client handshake over a connected socket; verifies the peer unless told not to. */
function startTls(
  sock: net.Socket,
  dest: Endpoint,
  cfg: ResolvedOptions,
  signal: AbortSignal | undefined,
  serverName: string | undefined,
): Promise<tls.TLSSocket> {
  const opts: tls.ConnectionOptions = { ...cfg.tls, socket: sock };
  // Verify the certificate against the name that was dialled (also sent as SNI), or against
  // the IP when an IP was dialled; without `host` Node would check the name "localhost".
  if (opts.servername === undefined && serverName !== undefined) opts.servername = serverName;
  opts.host ??= serverName ?? dest.host;
  const secure = tls.connect(opts);
  return setupStep(secure, "secureConnect", {
    signal,
    what: "TLS handshake",
    ms: cfg.tlsHandshakeTimeoutMs,
    code: "ERR_TLS",
    message: `no TLS handshake within ${cfg.tlsHandshakeTimeoutMs} ms`,
    toError: (e) =>
      new PipeError("ERR_TLS", `TLS with ${dest.host}:${dest.port} failed: ${e.message}`, {
        cause: e,
      }),
    destroy: () => {
      secure.destroy();
      sock.destroy();
    },
  }).then(() => secure);
}

/** Listens on `bind` (ERR_BIND on failure, ERR_ABORTED). */
export function listenTcp(
  bind: Endpoint,
  cfg: ResolvedOptions,
  route: RouteLike | undefined,
  signal: AbortSignal | undefined,
): Promise<TcpServerPipe> {
  if (signal?.aborted) return Promise.reject(abortError(signal, "listen"));
  return new Promise<TcpServerPipe>((resolve, reject) => {
    const server = net.createServer({
      noDelay: cfg.noDelay,
      pauseOnConnect: inPlaceHeader(cfg.framing) !== undefined,
    });
    const onAbort = () => {
      server.off("error", onError);
      server.close();
      reject(abortError(signal as AbortSignal, "listen"));
    };
    const onError = (e: Error) => {
      signal?.removeEventListener("abort", onAbort);
      server.close();
      reject(
        new PipeError(
          "ERR_BIND",
          `cannot listen on ${nodeHost(bind)}:${bind.port} (${errno(e) || e.message})`,
          {
            cause: e,
          },
        ),
      );
    };
    server.once("error", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
    server.listen(
      {
        host: nodeHost(bind),
        port: bind.port,
        backlog: cfg.backlog,
        ipv6Only: bind.family === 6 && cfg.ipv6Only,
      },
      () => {
        server.off("error", onError);
        signal?.removeEventListener("abort", onAbort);
        resolve(new TcpServerPipe(server, cfg, route));
      },
    );
  });
}
