import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import {
  type ApiContext,
  apiErrorReply,
  dispatch,
  errorReply,
  findCon,
  json,
  type RestNode,
} from "./api.js";
import type { Connection } from "./connection.js";
import { RestError } from "./errors.js";
import {
  contentLength,
  feedByHead,
  type Reply,
  type RequestHead,
  rawReply,
  readHead,
} from "./http.js";
import { matchRoute, type RouteDef } from "./routes.js";
import { checkRequest, isLoopbackListen } from "./security.js";

export type { RestNode } from "./api.js";

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

/** Bounded so one client cannot hold a connection forever. */
const MAX_REQUESTS_PER_CONNECTION = 1000;
/** Pipelined requests waiting on one connection before it is read no further. */
const MAX_PIPELINED = 32;

/** What the server keeps per HTTP connection. */
interface Conn {
  /** Requests are answered one after the other, as they came (pipelining). */
  chain: Promise<void>;
  waiting: number;
  served: number;
  /** `socket.bytesRead` when the last answer went out: more since means a request started. */
  readAtServe: number;
  /** The last answer handed to node:http: a raw error answer must wait until it is sent. */
  last?: ServerResponse;
  /** Where bytes go once the connection is a relay (or dropped, after a refused request). */
  sink?: (b: Buffer) => void;
  failed?: boolean;
}

const drop = () => {};
const EMPTY = Promise.resolve(Buffer.alloc(0));

/**
 * The localhost REST API and dashboard on `node:http`: its strict parser, size limits and timeouts
 * frame requests; `/tunnel` takes the socket over as a byte relay (the `upgrade` event, or a plain
 * request cut off from the parser by `feedByHead`).
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
  readonly #ctx: ApiContext;
  readonly #sockets = new Map<Socket, Conn>();
  /** Requests being answered: aborted when their client goes away or the server closes. */
  readonly #running = new Set<AbortController>();
  #closing = false;
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
    const t = this.#opts.requestTimeoutMs;
    this.#ctx = {
      node: opts.node,
      cons: new Map(),
      connectTimeoutMs: this.#opts.connectTimeoutMs,
      p2pdSubs: new Map(),
    };
    this.#server = createServer({
      maxHeaderSize: this.#opts.maxHeadBytes,
      requestTimeout: t,
      headersTimeout: t,
      keepAliveTimeout: t,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.round(t / 4))),
      // Tools like `curl --http1.0` or `nc` send no Host; only a non-loopback one is refused.
      requireHostHeader: false,
    });
    const s = this.#server;
    // Half-open allowed: a client may send its request and shut down its side (`nc -N`, some
    // HTTP/1.0 tools) and still get the answer; node:http ends our side once it is written.
    (s as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    s.maxRequestsPerSocket = MAX_REQUESTS_PER_CONNECTION;
    // A connection that never sends a request is idle from the start: no request timer runs.
    s.timeout = t;
    s.on("connection", (socket: Socket) => this.#onSocket(socket));
    s.on("request", (req: IncomingMessage, res: ServerResponse) => this.#onRequest(req, res));
    s.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
      // curl waits a second for this before sending a body larger than 1 KiB.
      if (Number(req.headers["content-length"] ?? 0) <= this.#opts.maxBodyBytes) {
        res.writeContinue();
      }
      this.#onRequest(req, res);
    });
    // Complete requests only (no body): the socket node:http hands over is the TCP socket.
    s.on("upgrade", (req: IncomingMessage, socket: Socket, rest: Buffer) =>
      this.#onUpgrade(req, socket, rest),
    );
    s.on("clientError", (err: Error & { code?: string }, socket: Socket) =>
      this.#onClientError(err, socket),
    );
    s.on("timeout", (socket: Socket) => this.#onIdle(socket));
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
    return [...this.#ctx.cons.values()];
  }

  /** Runs after node:http's own `connection` listener. */
  #onSocket(socket: Socket): void {
    socket.on("error", () => socket.destroy());
    const full = this.#sockets.size >= this.#opts.maxSockets;
    const conn: Conn = { chain: Promise.resolve(), waiting: 0, served: 0, readAtServe: 0 };
    this.#sockets.set(socket, conn);
    socket.on("close", () => this.#sockets.delete(socket));
    feedByHead(socket, () => conn.sink);
    if (full) {
      // Idle connections cost a descriptor each: cap them instead of running out.
      conn.sink = drop;
      this.#finish(
        socket,
        json(503, undefined, {
          error: { code: "ERR_BUSY", message: "too many open HTTP connections" },
        }),
      );
    }
  }

  /** Parse errors and request timeouts: a JSON answer after those already due, then close. */
  #onClientError(err: Error & { code?: string }, socket: Socket): void {
    const conn = this.#sockets.get(socket);
    // Bytes after a `Connection: close` request: ignored; its answer still goes out.
    if (err.code === "HPE_CLOSED_CONNECTION" || !conn) return;
    if (conn.failed) return;
    conn.failed = true;
    conn.sink = drop;
    const e =
      err.code === "HPE_HEADER_OVERFLOW"
        ? new RestError("ERR_HEAD_TOO_LARGE", 431, "request head too large")
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? new RestError("ERR_REQUEST_TIMEOUT", 408, "request not received in time")
          : new RestError("ERR_BAD_REQUEST", 400, `malformed request (${err.code ?? err.message})`);
    conn.chain
      .then(() => {
        const last = conn.last;
        if (last && !last.writableFinished && !last.destroyed) {
          return new Promise((r) => last.once("close", r));
        }
      })
      .then(() => this.#finish(socket, errorReply(e)));
  }

  /** The socket's inactivity timer: a connection that never completes a request is cut. */
  #onIdle(socket: Socket): void {
    const conn = this.#sockets.get(socket);
    if (!conn || conn.waiting > 0 || conn.sink) return;
    // An idle kept-alive connection is just closed; a started, unfinished request gets a 408.
    if (conn.served > 0 && socket.bytesRead === conn.readAtServe) socket.destroy();
    else
      this.#onClientError(
        Object.assign(new Error("timeout"), { code: "ERR_HTTP_REQUEST_TIMEOUT" }),
        socket,
      );
  }

  /** Ends a socket after `reply`; destroys it if the peer never closes its side. */
  #finish(socket: Socket, reply?: Reply): void {
    if (socket.destroyed) return;
    if (reply && socket.writable) socket.end(rawReply(reply));
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

  /** Queues work behind the connection's earlier requests; reading pauses when too many wait. */
  #queue(socket: Socket, conn: Conn, work: () => Promise<void>): void {
    if (++conn.waiting > MAX_PIPELINED) socket.pause();
    conn.chain = conn.chain.then(work).then(
      () => {
        if (--conn.waiting === MAX_PIPELINED) socket.resume();
      },
      () => {
        socket.destroy();
      },
    );
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    const conn = this.#sockets.get(socket);
    if (!conn || conn.sink) {
      res.destroy();
      return;
    }
    let head: RequestHead | undefined;
    let early: Reply | undefined;
    let match: { route: RouteDef; params: Record<string, string> } | undefined;
    try {
      head = readHead(req);
      match = this.#route(head);
      contentLength(head, this.#opts.maxBodyBytes);
      if (match.route.id === "tunnel") {
        findCon(this.#ctx, match.params.name);
        // From here the parser sees nothing more: the rest is relay data, held until it starts.
        const held: Buffer[] = [];
        conn.sink = (b) => held.push(b);
        const h = head;
        const name = match.params.name;
        this.#queue(socket, conn, async () => this.#relay(socket, h, name, held));
        return;
      }
    } catch (e) {
      // Refused before dispatch: the framing may be ambiguous, so the connection closes.
      early = errorReply(e, head);
      early.headers.Connection = "close";
    }
    const body = early
      ? undefined
      : req.headers["content-length"] === undefined
        ? EMPTY
        : readBody(req, this.#opts.maxBodyBytes);
    // Awaited in turn; a client leaving mid-body must not be an unhandled rejection meanwhile.
    body?.catch(() => {});
    this.#queue(socket, conn, async () => {
      let out = early;
      if (!out && head && match && body) {
        out = await this.#handle(head, match, await body, socket);
      }
      if (!out) return;
      write(res, out);
      conn.last = res;
      conn.served++;
      conn.readAtServe = socket.bytesRead;
    });
  }

  #onUpgrade(req: IncomingMessage, socket: Socket, rest: Buffer): void {
    const conn = this.#sockets.get(socket);
    if (!conn || conn.sink) {
      socket.destroy();
      return;
    }
    const held = rest.length ? [rest] : [];
    conn.sink = (b) => held.push(b);
    socket.setTimeout(0);
    let head: RequestHead | undefined;
    try {
      head = readHead(req);
      const m = this.#route(head);
      const h = head;
      // Only /tunnel upgrades; any other request with an Upgrade header is answered, then closed.
      this.#queue(socket, conn, async () => {
        if (m.route.id === "tunnel") this.#relay(socket, h, m.params.name, held);
        else this.#finish(socket, await this.#handle(h, m, Buffer.alloc(0), socket));
      });
    } catch (e) {
      this.#finish(socket, errorReply(e, head));
    }
  }

  async #handle(
    head: RequestHead,
    m: { route: RouteDef; params: Record<string, string> },
    body: Buffer,
    socket: Socket,
  ): Promise<Reply> {
    // A request is abandoned when its client goes away or the server closes.
    const gone = new AbortController();
    if (this.#closing) gone.abort();
    this.#running.add(gone);
    const onGone = () => gone.abort();
    socket.once("close", onGone);
    try {
      return await dispatch(this.#ctx, head, m.route, m.params, body, gone.signal);
    } catch (e) {
      // A well-framed request that failed: answer it and keep the connection (pipelining),
      // unless the failure is our own bug.
      const r = apiErrorReply(e, head, m.route.id, m.params);
      if (r.status === 500) r.headers.Connection = "close";
      return r;
    } finally {
      socket.removeListener("close", onGone);
      this.#running.delete(gone);
    }
  }

  /** Turns the HTTP connection into a byte relay to the named P2P connection. */
  #relay(socket: Socket, head: RequestHead, name: string | undefined, held: Buffer[]): void {
    let con: Connection;
    try {
      con = findCon(this.#ctx, name);
      if (con.relay)
        throw new RestError("ERR_RELAY_BUSY", 409, `connection "${con.name}" is already relayed`);
    } catch (e) {
      this.#finish(socket, errorReply(e, head));
      return;
    }
    socket.setTimeout(0);
    if (head.headers.get("upgrade")?.toLowerCase() === "p2pd-relay") {
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: p2pd-relay\r\nConnection: Upgrade\r\n\r\n",
      );
    }
    con.relay = socket;
    // One send at a time: a client writing faster than the peer reads is held back by TCP.
    let sending = Promise.resolve();
    const forward = (chunk: Buffer) => {
      socket.pause();
      sending = sending
        .then(() => con.send(chunk))
        .then(
          () => {
            socket.resume();
          },
          () => {
            socket.destroy();
          },
        );
    };
    const conn = this.#sockets.get(socket);
    if (conn) conn.sink = forward;
    const offClose = con.pipe.onEnd(() => socket.end());
    socket.on("end", () => socket.end());
    socket.on("close", () => {
      offClose();
      if (con.relay === socket) con.relay = undefined;
    });
    for (const b of held.splice(0)) forward(b);
    socket.resume();
  }

  /** Stops listening, ends every client and closes every connection the API opened. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      for (const r of this.#running) r.abort();
      const closed = new Promise<void>((r) => this.#server.close(() => r()));
      this.#server.closeAllConnections();
      // Relays left node:http's books: they are ours to end.
      for (const s of this.#sockets.keys()) s.destroy();
      await Promise.all(this.connections().map((c) => c.close().catch(() => {})));
      this.#ctx.cons.clear();
      await closed;
    })();
    return this.#closed;
  }
}

/** The body, up to `max` bytes (node:http frames it by Content-Length; chunked was refused). */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new RestError("ERR_BODY_TOO_LARGE", 413, `body larger than ${max} bytes`);
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts, size);
}

function write(res: ServerResponse, r: Reply): void {
  if (res.destroyed) return;
  res.writeHead(r.status, { ...r.headers, "Content-Length": String(r.body.length) });
  res.end(r.body);
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
