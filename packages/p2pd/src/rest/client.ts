import { connect, type Socket } from "node:net";
import { deadline, P2pdError } from "@p2pd/netifaces";
import type { AttemptStep } from "./connection.js";
import type { ClientErrorCode } from "./errors.js";
import { buildPath } from "./routes.js";

/**
 * An error answer of the REST API, with its stable `code` and HTTP status: the server's code
 * (any code of httpStatusFor's table) or one of CLIENT_ERROR_CODES when no answer came (status 0).
 */
export class P2pdClientError extends P2pdError<ClientErrorCode> {
  readonly status: number;
  constructor(code: ClientErrorCode, status: number, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "P2pdClientError";
    this.status = status;
  }
}

export interface ConInfo {
  name: string;
  strategy: string;
  remote: { ip: string; port: number } | null;
  openedAt: string;
  connectMs: number;
  bytesIn: number;
  bytesOut: number;
  msgsIn: number;
  msgsOut: number;
  /** `waiting`: recv calls currently blocked on the subscription. */
  subs: { msg: string; addr: string; queued: number; dropped: number; waiting: number }[];
  relayed: boolean;
  /** The connect attempt: each strategy's start and end (ms since the connect began) and outcome. */
  timeline: AttemptStep[];
}

export interface SubOptions {
  msg?: string;
  addr?: string;
}

export interface RecvOptions extends SubOptions {
  /** Seconds (default 2, at most 30). */
  timeout?: number;
  signal?: AbortSignal;
}

export interface P2pdClientOptions {
  /** Default http://127.0.0.1:12333 */
  url?: string;
  token?: string;
  /** Per-call default timeout in ms (default 70 s: above the server's 60 s connect timeout). */
  timeoutMs?: number;
}

/** Typed client for the p2pd REST API (the same route table as the server). */
export class P2pdClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  constructor(opts: P2pdClientOptions = {}) {
    this.url = (opts.url ?? "http://127.0.0.1:12333").replace(/\/$/, "");
    this.#token = opts.token;
    this.#timeoutMs = opts.timeoutMs ?? 70_000;
  }

  async #call(
    method: string,
    id: string,
    values: Record<string, string | number | undefined>,
    opts: { body?: Uint8Array; signal?: AbortSignal | undefined } = {},
  ): Promise<Response> {
    // Not cleared on return: the caller reads the body under the same deadline.
    const { signal } = deadline(this.#timeoutMs, opts.signal);
    const res = await fetch(this.url + buildPath(id, values), {
      method,
      headers: {
        ...(this.#token ? { Authorization: `Bearer ${this.#token}` } : {}),
        ...(opts.body ? { "Content-Type": "application/octet-stream" } : {}),
      },
      ...(opts.body ? { body: opts.body } : {}),
      signal,
    });
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as {
        error?: { code?: string; message?: string };
      };
      throw new P2pdClientError(
        body.error?.code ?? "ERR_HTTP",
        res.status,
        body.error?.message ?? res.statusText,
      );
    }
    return res;
  }

  async #json<T>(
    method: string,
    id: string,
    values: Record<string, string | number | undefined> = {},
    signal?: AbortSignal,
  ): Promise<T> {
    return (await (await this.#call(method, id, values, { signal })).json()) as T;
  }

  version(signal?: AbortSignal) {
    return this.#json<{ title: string; version: string }>("GET", "version", {}, signal);
  }
  ifs(signal?: AbortSignal) {
    return this.#json<{ ifs: Record<string, unknown>[] }>("GET", "ifs", {}, signal);
  }
  addr(signal?: AbortSignal) {
    return this.#json<{ addr: string; nodeId: string; port: number }>("GET", "addr", {}, signal);
  }
  cons(signal?: AbortSignal) {
    return this.#json<{ cons: ConInfo[] }>("GET", "cons", {}, signal);
  }
  /** Connects to `dest` (a P2P address, a name, or "self") and names the connection. */
  open(name: string, dest: string, opts: { strategies?: string[]; signal?: AbortSignal } = {}) {
    return this.#json<ConInfo>(
      "GET",
      "open",
      { name, dest, strategies: opts.strategies?.join(",") },
      opts.signal,
    );
  }
  info(name: string, signal?: AbortSignal) {
    return this.#json<ConInfo>("GET", "info", { name }, signal);
  }
  subscribe(name: string, sub: SubOptions = {}, signal?: AbortSignal) {
    return this.#json<{ name: string; sub: Required<SubOptions> }>(
      "GET",
      "subscribe",
      { name, ...sub },
      signal,
    );
  }
  unsubscribe(name: string, sub: SubOptions = {}, signal?: AbortSignal) {
    return this.#json<{ name: string; unsub: Required<SubOptions> }>(
      "DELETE",
      "unsubscribe",
      { name, ...sub },
      signal,
    );
  }
  async send(
    name: string,
    text: string,
    signal?: AbortSignal,
  ): Promise<{ name: string; sent: number; sentChars: number }> {
    // fetch collapses a "." or ".." path segment (even encoded): such texts go as a body.
    if (text === "." || text === "..") {
      const r = await this.sendBinary(name, new TextEncoder().encode(text), signal);
      return { ...r, sentChars: text.length };
    }
    return this.#json("GET", "send", { name, text }, signal);
  }
  recv(name: string, opts: RecvOptions = {}) {
    const { signal, ...q } = opts;
    return this.#json<{ name: string; from: { ip: string; port: number } | null; data: string }>(
      "GET",
      "recv",
      { name, ...q },
      signal,
    );
  }
  async sendBinary(
    name: string,
    data: Uint8Array,
    signal?: AbortSignal,
  ): Promise<{ name: string; sent: number }> {
    return (await (
      await this.#call("POST", "sendBinary", { name }, { body: data, signal })
    ).json()) as {
      name: string;
      sent: number;
    };
  }
  async recvBinary(
    name: string,
    opts: RecvOptions = {},
  ): Promise<{ data: Uint8Array; from: string }> {
    const { signal, ...q } = opts;
    const res = await this.#call("GET", "recvBinary", { name, ...q }, { signal });
    return {
      data: new Uint8Array(await res.arrayBuffer()),
      from: res.headers.get("x-client-tup") ?? "unknown",
    };
  }
  close(name: string, signal?: AbortSignal) {
    return this.#json<{ closed: string }>("GET", "close", { name }, signal);
  }
  /**
   * Turns a new HTTP connection into a raw relay to the named P2P connection (`/tunnel`): what
   * is written to the returned socket reaches the peer, what the peer sends can be read from it.
   * Node only (it needs a TCP socket). Rejects with a P2pdClientError like the other calls.
   */
  tunnel(name: string, opts: { signal?: AbortSignal } = {}): Promise<Socket> {
    const url = new URL(this.url);
    if (url.protocol !== "http:") {
      return Promise.reject(new P2pdClientError("ERR_HTTP", 0, "tunnel needs an http: URL"));
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const limit = deadline(this.#timeoutMs, opts.signal);
    const { signal } = limit;
    return new Promise((resolve, reject) => {
      const s = connect({ host, port: Number(url.port || 80) });
      let buf = Buffer.alloc(0);
      const done = (e?: Error) => {
        limit.clear();
        signal.removeEventListener("abort", onAbort);
        s.removeListener("readable", onReadable);
        s.removeListener("error", onError);
        s.removeListener("close", onClose);
        if (e) {
          s.destroy();
          reject(e);
        }
      };
      const onAbort = () => done(new P2pdClientError("ERR_ABORTED", 0, "tunnel aborted"));
      const onError = (e: Error) => done(new P2pdClientError("ERR_HTTP", 0, e.message));
      const onClose = () => done(answerError(buf));
      // Paused-mode reads: once the listener is gone the socket is back to its initial state,
      // so the caller's first "data" listener or pipe() gets every byte after the 101.
      const onReadable = () => {
        for (let chunk = s.read() as Buffer | null; chunk; chunk = s.read() as Buffer | null) {
          buf = Buffer.concat([buf, chunk]);
        }
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0 || !buf.toString("latin1", 0, 13).startsWith("HTTP/1.1 101")) return;
        done();
        const rest = buf.subarray(end + 4);
        if (rest.length) s.unshift(rest);
        resolve(s);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      s.on("readable", onReadable);
      s.on("error", onError);
      s.on("close", onClose);
      s.write(
        `GET ${buildPath("tunnel", { name })} HTTP/1.1\r\nHost: ${url.host}\r\n` +
          `Upgrade: p2pd-relay\r\nConnection: Upgrade\r\n` +
          (this.#token ? `Authorization: Bearer ${this.#token}\r\n` : "") +
          "\r\n",
      );
    });
  }
  openapi(signal?: AbortSignal) {
    return this.#json<Record<string, unknown>>("GET", "openapi", {}, signal);
  }
}

/** The typed error of a non-101 answer to a tunnel request (the server closes after it). */
function answerError(buf: Buffer): P2pdClientError {
  const text = buf.toString("utf8");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
  try {
    const body = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)) as {
      error?: { code?: string; message?: string };
    };
    return new P2pdClientError(
      body.error?.code ?? "ERR_HTTP",
      status,
      body.error?.message ?? "tunnel refused",
    );
  } catch {
    return new P2pdClientError("ERR_HTTP", status, "connection closed before the relay started");
  }
}
