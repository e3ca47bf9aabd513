import { buildPath } from "./routes.js";

/** An error answer of the REST API, with its stable `code` and HTTP status. */
export class P2pdClientError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = "P2pdClientError";
    this.code = code;
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
  subs: { msg: string; addr: string; queued: number; dropped: number }[];
  relayed: boolean;
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
    const signal = AbortSignal.any([
      AbortSignal.timeout(this.#timeoutMs),
      ...(opts.signal ? [opts.signal] : []),
    ]);
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
  send(name: string, text: string, signal?: AbortSignal) {
    return this.#json<{ name: string; sent: number; sentChars: number }>(
      "GET",
      "send",
      { name, text },
      signal,
    );
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
  openapi(signal?: AbortSignal) {
    return this.#json<Record<string, unknown>>("GET", "openapi", {}, signal);
  }
}
