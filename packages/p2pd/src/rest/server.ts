import { createServer, type Server, type Socket } from "node:net";
import { Connection, type RestPipe } from "./connection.js";
import { dashboardHtml } from "./dashboard.js";
import { RestError } from "./errors.js";
import {
  contentLength,
  keepAlive,
  parseHead,
  type RequestHead,
  response,
  wantsKeepAlive,
} from "./http.js";
import { buildOpenApi } from "./openapi.js";
import { matchRoute, type RouteDef } from "./routes.js";
import { checkRequest, corsHeaders, isLoopbackListen, originAllowed } from "./security.js";
import { VERSION } from "./version.js";

/** What the REST server needs from a node (a @p2pd/node P2PNode fits). */
export interface RestNode {
  readonly address: string;
  readonly nodeId: string;
  readonly port: number;
  readonly interfaces: readonly unknown[];
  connect(
    target: string,
    opts: { strategies?: string[]; signal?: AbortSignal },
  ): Promise<{ pipe: RestPipe; strategy: string; timings: { totalMs: number } }>;
}

export interface RestServerOptions {
  node: RestNode;
  /** Default 12333, as P2PD. 0 = any free port. */
  port?: number;
  /** Default 127.0.0.1. Binding elsewhere is refused unless `allowNonLoopback`. */
  host?: string;
  allowNonLoopback?: boolean;
  /** Require `Authorization: Bearer <token>` on every API call. */
  token?: string;
  /** Largest request body (default 1 MiB). */
  maxBodyBytes?: number;
  /** Largest request head (default 16 KiB). */
  maxHeadBytes?: number;
  /** A client must send its whole request within this (default 10 s), else 408 and close. */
  requestTimeoutMs?: number;
  /** Connect timeout for /open (default 60 s). */
  connectTimeoutMs?: number;
  /** Most HTTP connections open at once, relays included (default 128); more get a 503. */
  maxSockets?: number;
  signal?: AbortSignal;
}

// "." and ".." are excluded: URL parsers (fetch, browsers) collapse them as dot segments.
const NAME = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,64}$/;
const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");
/** Bounded so one client cannot hold a connection forever. */
const MAX_REQUESTS_PER_CONNECTION = 1000;

function json(
  status: number,
  head: RequestHead | undefined,
  body: unknown,
  extra: Record<string, string> = {},
) {
  return response(
    status,
    {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-store",
      ...(head ? corsHeaders(head) : {}),
      ...extra,
    },
    Buffer.from(`${JSON.stringify(body)}\n`),
  );
}

/**
 * The localhost REST API and dashboard, on a raw `net` server: after `/tunnel` the socket becomes
 * a byte relay, which `node:http` would misparse as further requests.
 */
export class RestServer {
  readonly #opts: Required<
    Pick<
      RestServerOptions,
      "maxBodyBytes" | "maxHeadBytes" | "requestTimeoutMs" | "connectTimeoutMs" | "maxSockets"
    >
  > &
    RestServerOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #cons = new Map<string, Connection>();
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  private constructor(opts: RestServerOptions) {
    this.#opts = {
      maxBodyBytes: 1024 * 1024,
      maxHeadBytes: 16 * 1024,
      requestTimeoutMs: 10_000,
      connectTimeoutMs: 60_000,
      maxSockets: 128,
      ...opts,
    };
    // Half-open allowed: a client may send its request and shut down its side (`nc -N`, some
    // HTTP/1.0 tools) and still get the answer; we end our side once it is written.
    this.#server = createServer({ allowHalfOpen: true }, (s) => this.#onSocket(s));
  }

  static async start(opts: RestServerOptions): Promise<RestServer> {
    const host = opts.host ?? "127.0.0.1";
    if (!opts.allowNonLoopback && !isLoopbackListen(host)) {
      throw new RestError(
        "ERR_NOT_LOOPBACK",
        400,
        `refusing to serve the REST API on non-loopback ${host}`,
      );
    }
    const s = new RestServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.#server.once("error", (e) =>
        reject(new RestError("ERR_LISTEN", 500, `cannot listen: ${e.message}`)),
      );
      s.#server.listen({ host, port: opts.port ?? 12333, signal: opts.signal }, () => resolve());
    });
    return s;
  }

  get port(): number {
    const a = this.#server.address();
    return typeof a === "object" && a ? a.port : 0;
  }

  get url(): string {
    const a = this.#server.address();
    if (typeof a !== "object" || !a) return "";
    return `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** Open connections (for dashboards and tests). */
  connections(): Connection[] {
    return [...this.#cons.values()];
  }

  #onSocket(socket: Socket): void {
    socket.on("error", () => socket.destroy());
    const full = this.#sockets.size >= this.#opts.maxSockets;
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    if (full) {
      // Idle connections cost a descriptor each: cap them instead of running out.
      this.#finish(
        socket,
        json(503, undefined, {
          error: { code: "ERR_BUSY", message: "too many open HTTP connections" },
        }),
      );
      return;
    }
    // Received bytes, kept as chunks so a large body is copied once, not once per chunk.
    let parts: Buffer[] = [];
    let size = 0;
    let head: RequestHead | undefined;
    let need = 0;
    let served = 0;
    let busy = false;
    let continued = false;
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    const joined = (): Buffer => {
      if (parts.length !== 1) parts = [Buffer.concat(parts, size)];
      return parts[0] as Buffer;
    };
    // Slow clients (slowloris) get a 408; an idle kept-alive connection is just closed.
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (served > 0 && !head && size === 0) {
          this.#finish(socket);
          return;
        }
        this.#finish(
          socket,
          json(408, head, {
            error: { code: "ERR_REQUEST_TIMEOUT", message: "request not received in time" },
          }),
        );
      }, this.#opts.requestTimeoutMs);
    };
    const fail = (e: unknown) => {
      clearTimeout(timer);
      socket.removeListener("data", onData);
      const err =
        e instanceof RestError
          ? e
          : new RestError("ERR_INTERNAL", 500, (e as Error)?.message ?? String(e));
      this.#finish(
        socket,
        json(err.status, head, { error: { code: err.code, message: err.message } }),
      );
    };
    const pump = () => {
      // One request at a time: pipelined bytes wait in `parts` until the answer is written.
      if (busy) return;
      try {
        if (!head) {
          head = parseHead(joined(), this.#opts.maxHeadBytes);
          if (!head) return;
          parts = [head.rest];
          size = head.rest.length;
          need = contentLength(head, this.#opts.maxBodyBytes);
          continued = false;
        }
        const match = this.#route(head);
        if (match.route.id === "tunnel") {
          clearTimeout(timer);
          socket.removeListener("data", onData);
          this.#tunnel(socket, head, match.params, joined());
          return;
        }
        if (size < need) {
          // curl waits a second for this before sending a body larger than 1 KiB.
          if (!continued && head.headers.get("expect")?.toLowerCase() === "100-continue") {
            continued = true;
            socket.write(CONTINUE);
          }
          return;
        }
        clearTimeout(timer);
        const all = joined();
        const body = all.subarray(0, need);
        parts = [all.subarray(need)];
        size = all.length - need;
        const h = head;
        const keep = wantsKeepAlive(h) && ++served < MAX_REQUESTS_PER_CONNECTION;
        busy = true;
        this.#handle(h, match.route, match.params, body, socket).then((res) => {
          if (socket.destroyed) return;
          const out = h.method === "HEAD" ? res.subarray(0, res.indexOf("\r\n\r\n") + 4) : res;
          if (!keep) {
            socket.removeListener("data", onData);
            this.#finish(socket, out);
            return;
          }
          socket.write(keepAlive(out));
          // Next request on the same connection (pipelined bytes may already be here).
          busy = false;
          head = undefined;
          need = 0;
          socket.resume();
          arm();
          if (size) pump();
          if (ended && !busy) this.#finish(socket);
        }, fail);
      } catch (e) {
        fail(e);
      }
    };
    const onData = (chunk: Buffer) => {
      parts.push(chunk);
      size += chunk.length;
      // A client pipelining faster than we answer is throttled by TCP, not by our memory.
      if (busy && size > this.#opts.maxHeadBytes + this.#opts.maxBodyBytes) socket.pause();
      pump();
    };
    arm();
    socket.on("data", onData);
    socket.on("close", () => clearTimeout(timer));
    socket.on("end", () => {
      ended = true;
      // Nothing in flight: whatever partial request is left can never complete.
      if (!busy && socket.listenerCount("data") > 0) {
        clearTimeout(timer);
        this.#finish(socket);
      }
    });
  }

  /** Ends a socket after `data`; destroys it if the peer never closes its side. */
  #finish(socket: Socket, data?: Buffer): void {
    if (socket.destroyed) return;
    if (data) socket.end(data);
    else socket.end();
    // Read and drop whatever still comes, so the peer's FIN is seen and the slot freed.
    socket.resume();
    setTimeout(() => socket.destroy(), this.#opts.requestTimeoutMs).unref();
  }

  #route(head: RequestHead): { route: RouteDef; params: Record<string, string> } {
    if (head.method === "OPTIONS") return { route: PREFLIGHT, params: {} };
    const m = matchRoute(head.method, head.segments);
    if (!m) throw new RestError("ERR_NOT_FOUND", 404, `no API method at ${head.path}`);
    if ("methodMismatch" in m)
      throw new RestError("ERR_METHOD", 405, `${head.method} not allowed on ${head.path}`);
    // HEAD means "a GET without the body": a relay has neither, so it is never one.
    if (head.method === "HEAD" && m.route.id === "tunnel")
      throw new RestError("ERR_METHOD", 405, "HEAD not allowed on a tunnel");
    checkRequest(head, m.route.mutating, this.#opts);
    return m;
  }

  #con(name: string | undefined): Connection {
    const c = name === undefined ? undefined : this.#cons.get(name);
    if (!c) throw new RestError("ERR_NO_SUCH_CONNECTION", 404, `no connection named "${name}"`);
    return c;
  }

  #timeoutMs(v: string | undefined): number {
    if (v === undefined) return 2000;
    if (!/^\d+(\.\d+)?$/.test(v) || Number(v) > 30) {
      throw new RestError(
        "ERR_BAD_TIMEOUT",
        400,
        "timeout must be a number of seconds from 0 to 30",
      );
    }
    return Number(v) === 0 ? 2000 : Math.round(Number(v) * 1000);
  }

  async #handle(
    head: RequestHead,
    route: RouteDef,
    p: Record<string, string>,
    body: Buffer,
    socket: Socket,
  ): Promise<Buffer> {
    // A request is abandoned when its client goes away or the server closes.
    const gone = new AbortController();
    const onGone = () => gone.abort();
    socket.once("close", onGone);
    try {
      return await this.#dispatch(
        head,
        route,
        p,
        body,
        AbortSignal.any([gone.signal, this.#closing.signal]),
      );
    } catch (e) {
      // A well-framed request that failed: answer it and keep the connection (pipelining).
      if (!(e instanceof RestError)) throw e;
      return json(e.status, head, { error: { code: e.code, message: e.message } });
    } finally {
      socket.removeListener("close", onGone);
    }
  }

  async #dispatch(
    head: RequestHead,
    route: RouteDef,
    p: Record<string, string>,
    body: Buffer,
    signal: AbortSignal,
  ): Promise<Buffer> {
    const q = (k: string) => p[k] ?? head.query.get(k) ?? undefined;
    const node = this.#opts.node;
    switch (route.id) {
      case "preflight": {
        if (!originAllowed(head.headers.get("origin"))) {
          throw new RestError("ERR_BAD_ORIGIN", 403, "requests from other origins are refused");
        }
        return response(204, {
          ...corsHeaders(head),
          "Access-Control-Allow-Methods": "GET, POST, DELETE",
          "Access-Control-Allow-Headers": "authorization, content-type",
          "Access-Control-Max-Age": "600",
        });
      }
      case "version":
        return json(200, head, { title: "p2pd", version: VERSION });
      case "ifs":
        return json(200, head, { ifs: node.interfaces });
      case "addr":
        return json(200, head, { addr: node.address, nodeId: node.nodeId, port: node.port });
      case "cons":
        return json(200, head, { cons: this.connections().map((c) => c.info()) });
      case "open": {
        const name = p.name ?? "";
        if (!NAME.test(name))
          throw new RestError(
            "ERR_BAD_NAME",
            400,
            'connection names are 1-64 of A-Z a-z 0-9 _ . - (not "." or "..")',
          );
        if (this.#cons.has(name))
          throw new RestError("ERR_NAME_EXISTS", 409, `connection "${name}" already exists`);
        const dest = p.dest === "self" ? node.address : (p.dest ?? "");
        const strategies = q("strategies")?.split(",").filter(Boolean);
        let res: Awaited<ReturnType<RestNode["connect"]>>;
        try {
          res = await node.connect(dest, {
            ...(strategies ? { strategies } : {}),
            signal: AbortSignal.any([signal, AbortSignal.timeout(this.#opts.connectTimeoutMs)]),
          });
        } catch (e) {
          const err = e as { code?: string; message?: string };
          const code = err.code ?? "ERR_CONNECT";
          // The caller's input was wrong (400) or names nobody (404); else the peer is unreachable.
          const status =
            code === "ERR_BAD_ADDR" || code === "ERR_BAD_ADDRESS"
              ? 400
              : code === "ERR_NAME_NOT_FOUND"
                ? 404
                : code === "ERR_CONNECT_TIMEOUT" || code === "ERR_TIMEOUT"
                  ? 504
                  : 502;
          throw new RestError(code, status, err.message ?? "connect failed");
        }
        if (this.#cons.has(name) || signal.aborted) {
          await res.pipe.close();
          throw new RestError("ERR_NAME_EXISTS", 409, `connection "${name}" already exists`);
        }
        const con = new Connection(name, res.strategy, res.pipe, res.timings.totalMs);
        this.#cons.set(name, con);
        res.pipe.onClose(() => {
          if (this.#cons.get(name) === con) this.#cons.delete(name);
        });
        return json(200, head, con.info());
      }
      case "info":
        return json(200, head, this.#con(p.name).info());
      case "subscribe": {
        const con = this.#con(p.name);
        const sub = { msg: q("msg") ?? "", addr: q("addr") ?? "" };
        con.subscribe(sub.msg, sub.addr);
        return json(200, head, { name: con.name, sub });
      }
      case "unsubscribe": {
        const con = this.#con(p.name);
        const sub = { msg: q("msg") ?? "", addr: q("addr") ?? "" };
        if (!con.unsubscribe(sub.msg, sub.addr))
          throw new RestError("ERR_NOT_SUBSCRIBED", 404, "no such subscription");
        return json(200, head, { name: con.name, unsub: sub });
      }
      case "send": {
        const con = this.#con(p.name);
        const text = p.text ?? "";
        const data = Buffer.from(text, "utf8");
        await con.send(data);
        return json(200, head, { name: con.name, sent: data.length, sentChars: [...text].length });
      }
      case "sendBinary": {
        const con = this.#con(p.name);
        if (!head.headers.has("content-length")) {
          throw new RestError("ERR_LENGTH_REQUIRED", 400, "POST /binary needs a Content-Length");
        }
        await con.send(body);
        return json(200, head, { name: con.name, sent: body.length });
      }
      case "recv":
      case "recvBinary": {
        const con = this.#con(p.name);
        const data = await con.recv(
          q("msg") ?? "",
          q("addr") ?? "",
          this.#timeoutMs(q("timeout")),
          signal,
        );
        const from = con.pipe.remote;
        if (route.id === "recv") {
          return json(200, head, {
            name: con.name,
            from: from ? { ip: from.host, port: from.port } : null,
            data: data.toString("utf8"),
          });
        }
        return response(
          200,
          {
            "Content-Type": "application/octet-stream",
            "x-client-tup": from ? `${from.host}:${from.port}` : "unknown",
            ...corsHeaders(head),
          },
          data,
        );
      }
      case "close": {
        const con = this.#con(p.name);
        this.#cons.delete(con.name);
        await con.close();
        return json(200, head, { closed: con.name });
      }
      case "openapi":
        return json(200, head, buildOpenApi());
      case "dashboard":
        return response(
          200,
          {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy":
              "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
          },
          Buffer.from(dashboardHtml()),
        );
      default:
        throw new RestError("ERR_NOT_FOUND", 404, `no API method at ${head.path}`);
    }
  }

  #tunnel(socket: Socket, head: RequestHead, p: Record<string, string>, leftover: Buffer): void {
    let con: Connection;
    try {
      con = this.#con(p.name);
      if (con.relay)
        throw new RestError("ERR_RELAY_BUSY", 409, `connection "${con.name}" is already relayed`);
    } catch (e) {
      const err = e as RestError;
      this.#finish(
        socket,
        json(err.status, head, { error: { code: err.code, message: err.message } }),
      );
      return;
    }
    if (head.headers.get("upgrade")?.toLowerCase() === "p2pd-relay") {
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: p2pd-relay\r\nConnection: Upgrade\r\n\r\n",
      );
    }
    con.relay = socket;
    // One send at a time: a client writing faster than the peer reads is held back by TCP.
    const forward = (chunk: Buffer) => {
      socket.pause();
      con.send(chunk).then(
        () => socket.resume(),
        () => socket.destroy(),
      );
    };
    const offClose = con.pipe.onClose(() => socket.end());
    socket.on("data", forward);
    socket.on("end", () => socket.end());
    socket.on("close", () => {
      offClose();
      if (con.relay === socket) con.relay = undefined;
    });
    if (leftover.length) forward(leftover);
  }

  /** Stops listening, ends every client and closes every connection the API opened. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      const closed = new Promise<void>((r) => this.#server.close(() => r()));
      for (const s of this.#sockets) s.destroy();
      await Promise.all(this.connections().map((c) => c.close().catch(() => {})));
      this.#cons.clear();
      await closed;
    })();
    return this.#closed;
  }
}

const PREFLIGHT: RouteDef = {
  id: "preflight",
  method: "GET",
  path: "*",
  summary: "CORS preflight",
  mutating: false,
  params: [],
  response: {},
};
