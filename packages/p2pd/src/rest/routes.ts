/**
 * The REST API's routes: the one definition that the server dispatches on, the OpenAPI document
 * is generated from, and the typed client builds its URLs with.
 */
export type Method = "GET" | "POST" | "DELETE";

export interface ParamDef {
  name: string;
  in: "path" | "query";
  description: string;
  required?: boolean;
  /** A path parameter that takes every remaining segment, "/" included (text to send). */
  rest?: boolean;
  schema?: { type: "string" | "integer" | "number"; minimum?: number; maximum?: number };
}

export type JsonSchema = Record<string, unknown>;

export interface RouteDef {
  id: string;
  method: Method;
  /** Canonical (P2PD v3 style) path template with `{param}` segments. */
  path: string;
  /**
   * P2PD's paths (`/p2p/...`), answered with P2PD's bodies (see p2pd-bodies.ts); trailing
   * `/key/value` pairs (`msg_p`, `addr_p`, `timeout`, `name`) become parameters.
   */
  aliases?: string[];
  summary: string;
  /** Changes state (opens, sends, closes): refused from cross-site browser contexts. */
  mutating: boolean;
  params: ParamDef[];
  body?: "application/octet-stream" | "text/plain";
  /** JSON schema of the 200 body, or the media type of a non-JSON answer. */
  response: JsonSchema | "application/octet-stream" | "text/html" | "relay";
}

const name: ParamDef = {
  name: "name",
  in: "path",
  required: true,
  description: "connection name you chose",
};
const msg: ParamDef = {
  name: "msg",
  in: "query",
  description: "message regex (JavaScript syntax, matched on latin1 text)",
};
const addr: ParamDef = {
  name: "addr",
  in: "query",
  description: 'sender address regex, matched on "ip:port"',
};
const timeout: ParamDef = {
  name: "timeout",
  in: "query",
  description: "seconds to wait for a message (default 2, at most 30)",
  schema: { type: "number", minimum: 0, maximum: 30 },
};

const str = { type: "string" };
const int = { type: "integer" };
const obj = (
  properties: Record<string, unknown>,
  required = Object.keys(properties),
): JsonSchema => ({
  type: "object",
  properties,
  required,
});
const endpoint = obj({ ip: str, port: int });
export const CON_INFO: JsonSchema = obj(
  {
    name: str,
    strategy: str,
    remote: { oneOf: [endpoint, { type: "null" }] },
    openedAt: str,
    connectMs: { type: "number" },
    bytesIn: int,
    bytesOut: int,
    msgsIn: int,
    msgsOut: int,
    subs: {
      type: "array",
      items: obj({ msg: str, addr: str, queued: int, dropped: int, waiting: int }, ["msg", "addr"]),
    },
    relayed: { type: "boolean" },
    timeline: {
      type: "array",
      description:
        "the connect attempt: each strategy's start and end (ms since the connect began) and outcome (won, failed, lost, skipped, gave-up)",
      items: obj(
        {
          strategy: str,
          startMs: { type: "number" },
          endMs: { type: "number" },
          outcome: { type: "string", enum: ["won", "failed", "lost", "skipped", "gave-up"] },
          code: str,
          message: str,
        },
        ["strategy", "startMs", "endMs", "outcome"],
      ),
    },
  },
  ["name", "strategy", "remote", "bytesIn", "bytesOut", "msgsIn", "msgsOut"],
);
export const ERROR_BODY: JsonSchema = obj({ error: obj({ code: str, message: str }) });

export const ROUTES: RouteDef[] = [
  {
    id: "version",
    method: "GET",
    path: "/version",
    aliases: ["/p2p/version"],
    summary: "Library name and version",
    mutating: false,
    params: [],
    response: obj({ title: str, version: str }),
  },
  {
    id: "ifs",
    method: "GET",
    path: "/ifs",
    aliases: ["/p2p/ifs"],
    summary: "The node's interfaces with their addresses and NAT",
    mutating: false,
    params: [],
    response: obj({ ifs: { type: "array", items: { type: "object" } } }),
  },
  {
    id: "addr",
    method: "GET",
    path: "/addr",
    aliases: ["/p2p/addr"],
    summary: "The node's P2P address (and its parts)",
    mutating: false,
    params: [],
    response: obj({ addr: str, nodeId: str, port: int }),
  },
  {
    id: "cons",
    method: "GET",
    path: "/cons",
    summary: "Open connections with their strategy and traffic counters",
    mutating: false,
    params: [],
    response: obj({ cons: { type: "array", items: CON_INFO } }),
  },
  {
    id: "open",
    method: "GET",
    path: "/open/{name}/{dest}",
    aliases: ["/p2p/open/{name}/{dest}"],
    summary: "Connect to a node (P2P address, IRCDNS name, or `self`) and name the connection",
    mutating: true,
    params: [
      name,
      { name: "dest", in: "path", required: true, description: "a P2P address, a name, or `self`" },
      { name: "strategies", in: "query", description: "comma-separated strategies, in order" },
    ],
    response: CON_INFO,
  },
  {
    id: "info",
    method: "GET",
    path: "/info/{name}",
    aliases: ["/p2p/con/{name}", "/p2p/info/{name}"],
    summary: "One connection's details",
    mutating: false,
    params: [name],
    response: CON_INFO,
  },
  {
    id: "subscribe",
    method: "GET",
    path: "/sub/{name}",
    aliases: ["/p2p/sub/{name}"],
    summary: "Subscribe to messages matching a message and an address regex (queued for recv)",
    mutating: true,
    params: [name, msg, addr],
    response: obj({ name: str, sub: obj({ msg: str, addr: str }) }),
  },
  {
    id: "unsubscribe",
    method: "DELETE",
    path: "/sub/{name}",
    aliases: ["/p2p/sub/{name}"],
    summary: "Remove a subscription (no regexes: the catch-all one)",
    mutating: true,
    params: [name, msg, addr],
    response: obj({ name: str, unsub: obj({ msg: str, addr: str }) }),
  },
  {
    id: "send",
    method: "GET",
    path: "/send/{name}/{text}",
    aliases: ["/p2p/send/{name}/{text}"],
    summary: "Send text (UTF-8; may contain /)",
    mutating: true,
    params: [
      name,
      { name: "text", in: "path", required: true, rest: true, description: "text to send" },
    ],
    response: obj({ name: str, sent: int, sentChars: int }),
  },
  {
    id: "recv",
    method: "GET",
    path: "/recv/{name}",
    aliases: ["/p2p/recv/{name}"],
    summary: "Wait for the next queued message of a subscription, as UTF-8 text",
    mutating: true,
    params: [name, msg, addr, timeout],
    response: obj({ name: str, from: { oneOf: [endpoint, { type: "null" }] }, data: str }),
  },
  {
    id: "sendBinary",
    method: "POST",
    path: "/binary/{name}",
    aliases: ["/p2p/binary/{name}"],
    summary: "Send the request body as one binary message",
    mutating: true,
    params: [name],
    body: "application/octet-stream",
    response: obj({ name: str, sent: int }),
  },
  {
    id: "recvBinary",
    method: "GET",
    path: "/binary/{name}",
    aliases: ["/p2p/binary/{name}"],
    summary: "Wait for the next queued message, as raw bytes (sender in x-client-tup)",
    mutating: true,
    params: [name, msg, addr, timeout],
    response: "application/octet-stream",
  },
  {
    id: "close",
    method: "GET",
    path: "/close/{name}",
    aliases: ["/p2p/close/{name}"],
    summary: "Close a connection",
    mutating: true,
    params: [name],
    response: obj({ closed: str }),
  },
  {
    id: "tunnel",
    method: "GET",
    path: "/tunnel/{name}",
    aliases: ["/p2p/pipe/{name}", "/p2p/tunnel/{name}"],
    summary:
      "Turn this HTTP connection into a raw relay to the P2P connection (send `Upgrade: p2pd-relay` to get a 101 first)",
    mutating: true,
    params: [name],
    response: "relay",
  },
  {
    id: "openapi",
    method: "GET",
    path: "/openapi.json",
    summary: "This API's OpenAPI 3.1 description",
    mutating: false,
    params: [],
    response: { type: "object" },
  },
  {
    id: "dashboard",
    method: "GET",
    path: "/",
    summary: "The web dashboard",
    mutating: false,
    params: [],
    response: "text/html",
  },
];

/** Snapshot-style trailing `/key/value` options and the query names they stand for. */
const PAIR_KEYS: Record<string, string> = {
  msg_p: "msg",
  addr_p: "addr",
  timeout: "timeout",
  name: "subName",
};

export interface Match {
  route: RouteDef;
  params: Record<string, string>;
}

/** A template segment: a literal, or a `{param}`. */
interface TemplatePart {
  literal: string;
  param: string | undefined;
}

/** Templates split once (matching runs on every request). */
const COMPILED = new Map<string, TemplatePart[]>();

function compiled(template: string): TemplatePart[] {
  let parts = COMPILED.get(template);
  if (!parts) {
    // "/" has no segments; every other template is "/a/b/...".
    parts = (template === "/" ? [] : template.split("/").slice(1)).map((literal) => ({
      literal,
      param: /^\{(\w+)\}$/.exec(literal)?.[1],
    }));
    COMPILED.set(template, parts);
  }
  return parts;
}

function matchTemplate(
  template: string,
  segments: string[],
  allowPairs: boolean,
): Record<string, string> | undefined {
  const parts = compiled(template);
  const params: Record<string, string> = {};
  let i = 0;
  for (let k = 0; k < parts.length; k++) {
    const part = parts[k] as TemplatePart;
    const name = part.param;
    if (name === "text" && k === parts.length - 1) {
      // The text takes everything that is left, "/" included, as P2PD does.
      if (i >= segments.length) return undefined;
      params.text = segments.slice(i).join("/");
      return params;
    }
    const seg = segments[i];
    if (seg === undefined) return undefined;
    if (name) {
      if (seg === "") return undefined;
      params[name] = seg;
    } else if (seg !== part.literal) {
      return undefined;
    }
    i++;
  }
  const left = segments.slice(i);
  if (left.length === 0) return params;
  if (!allowPairs || left.length % 2 !== 0) return undefined;
  for (let j = 0; j < left.length; j += 2) {
    const key = PAIR_KEYS[left[j] as string];
    if (!key) return undefined;
    params[key] = left[j + 1] as string;
  }
  return params;
}

/** Finds the route for a method and decoded segments; `methodMismatch` when only the method is wrong. */
export function matchRoute(
  method: string,
  segments: string[],
): Match | { methodMismatch: true } | undefined {
  let mismatch = false;
  for (const route of ROUTES) {
    const aliases = route.aliases;
    const n = aliases ? aliases.length + 1 : 1;
    for (let j = 0; j < n; j++) {
      const template = j === 0 ? route.path : (aliases?.[j - 1] as string);
      const params = matchTemplate(template, segments, j > 0);
      if (!params) continue;
      if (route.method === method || (method === "HEAD" && route.method === "GET"))
        return { route, params };
      mismatch = true;
    }
  }
  return mismatch ? { methodMismatch: true } : undefined;
}

/** Builds a canonical URL path (and query) for a route, percent-encoding every value. */
export function buildPath(id: string, values: Record<string, string | number | undefined>): string {
  const route = ROUTES.find((r) => r.id === id);
  if (!route) throw new Error(`unknown route ${id}`);
  const path = route.path.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = values[k];
    if (v === undefined || v === "") throw new Error(`missing ${k}`);
    return encodeURIComponent(String(v));
  });
  const q = new URLSearchParams();
  for (const p of route.params) {
    const v = values[p.name];
    if (p.in === "query" && v !== undefined && v !== "") q.set(p.name, String(v));
  }
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}
