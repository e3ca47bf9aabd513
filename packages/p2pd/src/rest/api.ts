import { deadline } from "@p2pd/netifaces";
import { type AttemptStep, Connection, type RestPipe } from "./connection.js";
import { dashboardHtml } from "./dashboard.js";
import { RestError } from "./errors.js";
import { asRestError } from "./failure.js";
import type { Reply, RequestHead } from "./http.js";
import { buildOpenApi } from "./openapi.js";
import {
  addrTupleToRegex,
  conInfo,
  isP2pdPath,
  P2PD_ERROR,
  p2pdErrorBody,
  subRepr,
} from "./p2pd-bodies.js";
import type { RouteDef } from "./routes.js";
import { corsHeaders, originAllowed } from "./security.js";
import { VERSION } from "./version.js";

/** What the REST server needs from a node (a @p2pd/node P2PNode fits). */
export interface RestNode {
  readonly address: string;
  readonly nodeId: string;
  readonly port: number;
  readonly interfaces: readonly unknown[];
  /** The address in P2PD's own format, when the node has one (answered on `/p2p/addr`). */
  readonly p2pdAddress?: string;
  connect(
    target: string,
    opts: { strategies?: string[]; signal?: AbortSignal },
  ): Promise<{
    pipe: RestPipe;
    strategy: string;
    timings: { totalMs: number };
    timeline?: readonly AttemptStep[];
  }>;
}

/** The state the route handlers work on: the node and the named connections. */
export interface ApiContext {
  node: RestNode;
  cons: Map<string, Connection>;
  connectTimeoutMs: number;
  /** P2PD's named subscriptions (`/p2p/sub/{con}/name/{sub}`): global names, as in P2PD. */
  p2pdSubs: Map<string, { con: string; msg: string; addr: string; repr: string }>;
}

/** Named P2PD subscriptions kept at most (each also holds a subscription on its connection). */
const MAX_P2PD_SUBS = 1024;

// "." and ".." are excluded: URL parsers (fetch, browsers) collapse them as dot segments.
const NAME = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,64}$/;

export function reply(status: number, headers: Record<string, string>, body?: Buffer): Reply {
  return { status, headers, body: body ?? Buffer.alloc(0) };
}

export function json(
  status: number,
  head: RequestHead | undefined,
  body: unknown,
  extra: Record<string, string> = {},
): Reply {
  return reply(
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

/** The JSON answer for any failure: `{"error": {"code", "message"}}` with its status. */
export function errorReply(e: unknown, head?: RequestHead): Reply {
  const err = asRestError(e);
  return json(err.status, head, { error: { code: err.code, message: err.message } });
}

/**
 * A failed API call: on P2PD's `/p2p/*` paths P2PD's answer (200, `{"error": n, "msg", "code"}`,
 * 500s excepted: our own bugs keep their status), elsewhere `errorReply`.
 */
export function apiErrorReply(
  e: unknown,
  head: RequestHead,
  routeId: string,
  params: Record<string, string>,
): Reply {
  const err = asRestError(e);
  if (!isP2pdPath(head) || (err.status >= 500 && err.code === "ERR_INTERNAL"))
    return errorReply(err, head);
  return json(200, head, p2pdErrorBody(err, routeId, params));
}

export function findCon(ctx: ApiContext, name: string | undefined): Connection {
  const c = name === undefined ? undefined : ctx.cons.get(name);
  if (!c) throw new RestError("ERR_NO_SUCH_CONNECTION", 404, `no connection named "${name}"`);
  return c;
}

function timeoutMs(v: string | undefined): number {
  if (v === undefined) return 2000;
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) > 30) {
    throw new RestError("ERR_BAD_TIMEOUT", 400, "timeout must be a number of seconds from 0 to 30");
  }
  return Number(v) === 0 ? 2000 : Math.round(Number(v) * 1000);
}

async function open(
  ctx: ApiContext,
  head: RequestHead,
  p: Record<string, string>,
  signal: AbortSignal,
): Promise<Reply> {
  const name = p.name ?? "";
  if (!NAME.test(name))
    throw new RestError(
      "ERR_BAD_NAME",
      400,
      'connection names are 1-64 of A-Z a-z 0-9 _ . - (not "." or "..")',
    );
  if (ctx.cons.has(name))
    throw new RestError("ERR_NAME_EXISTS", 409, `connection "${name}" already exists`);
  const dest = p.dest === "self" ? ctx.node.address : (p.dest ?? "");
  const strategies = (p.strategies ?? head.query.get("strategies"))?.split(",").filter(Boolean);
  let res: Awaited<ReturnType<RestNode["connect"]>>;
  const limit = deadline(ctx.connectTimeoutMs, signal);
  try {
    res = await ctx.node.connect(dest, {
      ...(strategies ? { strategies } : {}),
      signal: limit.signal,
    });
  } catch (e) {
    // The caller's input was wrong (400) or names nobody (404); else the peer is unreachable.
    throw asRestError(e, "ERR_CONNECT", 502);
  } finally {
    limit.clear();
  }
  if (ctx.cons.has(name) || signal.aborted) {
    await res.pipe.close();
    throw new RestError("ERR_NAME_EXISTS", 409, `connection "${name}" already exists`);
  }
  const con = new Connection(name, res.strategy, res.pipe, res.timings.totalMs, res.timeline);
  ctx.cons.set(name, con);
  res.pipe.onEnd(() => {
    if (ctx.cons.get(name) === con) ctx.cons.delete(name);
  });
  return json(200, head, isP2pdPath(head) ? conInfo(con, ctx.node.interfaces) : con.info());
}

/** P2PD's named subscription: `/p2p/sub/{con}/name/{sub}[/msg_p/{re}][/addr_p/{tuple}]`. */
function p2pdSubscribe(
  ctx: ApiContext,
  head: RequestHead,
  con: Connection,
  p: Record<string, string>,
): Reply {
  const subName = p.subName;
  const tuple = p.addr !== undefined ? addrTupleToRegex(p.addr) : undefined;
  const sub = { msg: p.msg ?? "", addr: tuple?.regex ?? "" };
  const repr = subRepr(sub.msg, tuple?.repr);
  if (subName === "all")
    return json(200, head, { error: P2PD_ERROR.subReserved, msg: "reserved sub name" });
  if (subName !== undefined) {
    for (const [k, v] of ctx.p2pdSubs) if (!ctx.cons.has(v.con)) ctx.p2pdSubs.delete(k);
    if (ctx.p2pdSubs.has(subName))
      return json(200, head, { error: P2PD_ERROR.subExists, msg: "sub name already exists." });
    if (ctx.p2pdSubs.size >= MAX_P2PD_SUBS)
      throw new RestError("ERR_TOO_MANY_SUBS", 409, `at most ${MAX_P2PD_SUBS} named subscriptions`);
  }
  con.subscribe(sub.msg, sub.addr);
  if (subName !== undefined) ctx.p2pdSubs.set(subName, { con: con.name, ...sub, repr });
  return json(200, head, {
    con_name: con.name,
    name: con.name,
    sub_name: subName ?? null,
    sub: repr,
    error: 0,
  });
}

/** The (msg, addr) a P2PD recv reads: its named subscription, else the pairs given, else all. */
function p2pdSub(ctx: ApiContext, p: Record<string, string>): { msg: string; addr: string } {
  const named = p.subName === undefined ? undefined : ctx.p2pdSubs.get(p.subName);
  if (named && named.con === p.name) return named;
  return {
    msg: p.msg ?? "",
    addr: p.addr !== undefined ? addrTupleToRegex(p.addr).regex : "",
  };
}

/** Answers one API request (the tunnel excepted: it never gets a reply). */
export async function dispatch(
  ctx: ApiContext,
  head: RequestHead,
  route: RouteDef,
  p: Record<string, string>,
  body: Buffer,
  signal: AbortSignal,
): Promise<Reply> {
  const q = (k: string) => p[k] ?? head.query.get(k) ?? undefined;
  const node = ctx.node;
  // P2PD's paths: P2PD's bodies (`error: 0`, `con_name`, `client_tup`), see p2pd-bodies.ts.
  const compat = isP2pdPath(head);
  switch (route.id) {
    case "preflight": {
      if (!originAllowed(head.headers.get("origin"))) {
        throw new RestError("ERR_BAD_ORIGIN", 403, "requests from other origins are refused");
      }
      return reply(204, {
        ...corsHeaders(head),
        "Access-Control-Allow-Methods": "GET, POST, DELETE",
        "Access-Control-Allow-Headers": "authorization, content-type",
        "Access-Control-Max-Age": "600",
      });
    }
    case "version":
      return json(
        200,
        head,
        compat
          ? { title: "p2pd", author: "p2pd (TypeScript)", version: VERSION, error: 0 }
          : { title: "p2pd", version: VERSION },
      );
    case "ifs":
      return json(
        200,
        head,
        compat ? { ifs: node.interfaces, error: 0 } : { ifs: node.interfaces },
      );
    case "addr":
      if (compat) return json(200, head, { addr: node.p2pdAddress ?? node.address, error: 0 });
      return json(200, head, { addr: node.address, nodeId: node.nodeId, port: node.port });
    case "cons":
      return json(200, head, { cons: [...ctx.cons.values()].map((c) => c.info()) });
    case "open":
      return open(ctx, head, p, signal);
    case "info": {
      const con = findCon(ctx, p.name);
      return json(200, head, compat ? conInfo(con, node.interfaces) : con.info());
    }
    case "subscribe": {
      const con = findCon(ctx, p.name);
      if (compat) return p2pdSubscribe(ctx, head, con, p);
      const sub = { msg: q("msg") ?? "", addr: q("addr") ?? "" };
      con.subscribe(sub.msg, sub.addr);
      return json(200, head, { name: con.name, sub });
    }
    case "unsubscribe": {
      const con = findCon(ctx, p.name);
      if (compat) {
        // P2PD: DELETE /sub/{con}/name/{sub}; "all" is the catch-all subscription.
        const named = p.subName === undefined ? undefined : ctx.p2pdSubs.get(p.subName);
        const sub = p.subName === "all" || !named ? p2pdSub(ctx, p) : named;
        if (!con.unsubscribe(sub.msg, sub.addr))
          throw new RestError("ERR_NOT_SUBSCRIBED", 404, "no such subscription");
        if (named && p.subName !== undefined) ctx.p2pdSubs.delete(p.subName);
        return json(200, head, {
          con_name: con.name,
          unsub: named?.repr ?? subRepr(sub.msg, undefined),
          error: 0,
        });
      }
      const sub = { msg: q("msg") ?? "", addr: q("addr") ?? "" };
      if (!con.unsubscribe(sub.msg, sub.addr))
        throw new RestError("ERR_NOT_SUBSCRIBED", 404, "no such subscription");
      return json(200, head, { name: con.name, unsub: sub });
    }
    case "send": {
      const con = findCon(ctx, p.name);
      const text = p.text ?? "";
      const data = Buffer.from(text, "utf8");
      await con.send(data);
      if (compat)
        return json(200, head, { con_name: con.name, name: con.name, sent: data.length, error: 0 });
      return json(200, head, { name: con.name, sent: data.length, sentChars: [...text].length });
    }
    case "sendBinary": {
      const con = findCon(ctx, p.name);
      if (!head.headers.has("content-length")) {
        throw new RestError("ERR_LENGTH_REQUIRED", 400, "POST /binary needs a Content-Length");
      }
      await con.send(body);
      if (compat)
        return json(200, head, { con_name: con.name, name: con.name, sent: body.length, error: 0 });
      return json(200, head, { name: con.name, sent: body.length });
    }
    case "recv":
    case "recvBinary": {
      const con = findCon(ctx, p.name);
      const sub = compat ? p2pdSub(ctx, p) : { msg: q("msg") ?? "", addr: q("addr") ?? "" };
      const data = await con.recv(sub.msg, sub.addr, timeoutMs(q("timeout")), signal);
      const from = con.pipe.remote;
      if (route.id === "recv" && compat) {
        // P2PD also names the sender in an x-client-tup header.
        return json(
          200,
          head,
          {
            con_name: con.name,
            client_tup: from ? [from.host, from.port] : null,
            data: data.toString("utf8"),
            error: 0,
          },
          { "x-client-tup": from ? `${from.host}:${from.port}` : "unknown" },
        );
      }
      if (route.id === "recv") {
        return json(200, head, {
          name: con.name,
          from: from ? { ip: from.host, port: from.port } : null,
          data: data.toString("utf8"),
        });
      }
      return reply(
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
      const con = findCon(ctx, p.name);
      ctx.cons.delete(con.name);
      await con.close();
      return json(200, head, compat ? { closed: con.name, error: 0 } : { closed: con.name });
    }
    case "openapi":
      return json(200, head, buildOpenApi());
    case "dashboard":
      return reply(
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
