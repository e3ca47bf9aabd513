import type { Connection } from "./connection.js";
import { RestError } from "./errors.js";
import type { RequestHead } from "./http.js";

/**
 * The bodies P2PD's REST server (`p2pd/node/rest_api.py`) answers with, for the `/p2p/*` paths, so
 * P2PD's clients work unchanged: every answer is 200 with an `error` field (0 = success, P2PD's
 * numbers otherwise, plus our `code`), connections are described as P2PD's `con_info`, a message's
 * sender is `client_tup` [ip, port]. Our own paths keep real status codes and our bodies.
 */

/** P2PD's numeric `error` values (rest_api.py). */
export const P2PD_ERROR = {
  nameExists: 2,
  connectFailed: 3,
  noAddr: 5,
  recvTimeout: 5,
  bufferEmpty: 6,
  noSuchCon: 7,
  sendFailed: 8,
  subExists: 9,
  subReserved: 10,
} as const;

/** A request on P2PD's paths. */
export function isP2pdPath(head: RequestHead | undefined): boolean {
  return head?.segments[0] === "p2p";
}

/** Python's AF_INET / AF_INET6 on Linux, which P2PD puts in its route dicts. */
const af = (ip: string) => (ip.includes(":") ? 10 : 2);

interface IfaceLike {
  name?: unknown;
  ipv4?: unknown;
  ipv6?: unknown;
  ext4?: unknown;
  ext6?: unknown;
}

const ipList = (...ips: unknown[]) =>
  ips
    .filter((x): x is string => typeof x === "string" && x !== "")
    .map((ip) => ({ af: af(ip), cidr: ip.includes(":") ? 128 : 32, ip }));

/** P2PD's `con_info`: fd, laddr/raddr as [ip, port], the route's IPs, the interface and its offset. */
export function conInfo(con: Connection, interfaces: readonly unknown[]): Record<string, unknown> {
  const l = con.pipe.local;
  const r = con.pipe.remote;
  const ifs = interfaces as readonly IfaceLike[];
  // The interface whose address the connection is bound to, else the first (P2PD's default route).
  let offset = ifs.findIndex((i) => l && (i.ipv4 === l.host || i.ipv6 === l.host));
  if (offset < 0) offset = 0;
  const nic = ifs[offset] ?? {};
  return {
    ...con.info(),
    error: 0,
    name: con.name,
    // Node.js does not expose descriptors; P2PD clients only display it.
    fd: -1,
    laddr: l ? [l.host, l.port] : "sock closed",
    raddr: r ? [r.host, r.port] : "not connected",
    route: {
      af: af(l?.host ?? r?.host ?? ""),
      nic_ips: ipList(l?.host.includes(":") ? nic.ipv6 : nic.ipv4),
      ext_ips: ipList(l?.host.includes(":") ? nic.ext6 : nic.ext4),
    },
    if: { name: typeof nic.name === "string" ? nic.name : "", offset },
  };
}

/** Python's repr of bytes, as P2PD prints a subscription's message pattern (`b'test'`). */
function pyBytes(s: string): string {
  const b = Buffer.from(s, "utf8");
  let out = "";
  for (const c of b) {
    if (c === 0x5c || c === 0x27) out += `\\${String.fromCharCode(c)}`;
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c < 0x20 || c > 0x7e) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += String.fromCharCode(c);
  }
  return `b'${out}'`;
}

/** P2PD's text for a subscription: `[b'msg', None]`, `[None, None]` for the catch-all. */
export function subRepr(msg: string, addrTuple: string | undefined): string {
  return `[${msg ? pyBytes(msg) : "None"}, ${addrTuple ?? "None"}]`;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * P2PD's `addr_p` is a Python tuple `('ip', port)` (port 0 = any); ours is a regex over "ip:port". Returns the regex and P2PD's normalised repr of the tuple.
 */
export function addrTupleToRegex(tuple: string): { regex: string; repr: string } {
  const m = /^[([]\s*['"]([0-9A-Fa-f.:%]+)['"]\s*,\s*(\d{1,5})\s*[)\]]$/.exec(tuple.trim());
  if (!m || Number(m[2]) > 65535) {
    throw new RestError("ERR_BAD_REQUEST", 400, "addr_p must be a tuple like ('127.0.0.1', 0)");
  }
  const ip = m[1] as string;
  const port = Number(m[2]);
  // The pipe matches "ip:port" with the IP as Node.js prints it (IPv6 without brackets).
  return { regex: `^${esc(ip)}:${port === 0 ? "\\d+" : port}$`, repr: `('${ip}', ${port})` };
}

/** A failure as P2PD reported it: 200, `error` a number (or "Exception"), `msg`, and our `code`. */
export function p2pdErrorBody(
  err: RestError<string>,
  routeId: string,
  params: Record<string, string>,
): Record<string, unknown> {
  const con = params.name ?? "";
  const body = (error: number | string, msg: string) => ({ error, msg, code: err.code });
  switch (err.code) {
    case "ERR_NAME_EXISTS":
      return body(P2PD_ERROR.nameExists, "Con name already exists.");
    case "ERR_NO_SUCH_CONNECTION":
      return body(P2PD_ERROR.noSuchCon, `con ${con} does not exist`);
    case "ERR_RECV_TIMEOUT":
    case "ERR_NOT_SUBSCRIBED":
      return routeId === "recv"
        ? body(P2PD_ERROR.recvTimeout, "recv timeout")
        : body(P2PD_ERROR.bufferEmpty, "recv buffer empty.");
    case "ERR_SEND":
      return body(
        P2PD_ERROR.sendFailed,
        routeId === "send" ? "send txt failed" : "binary send failed.",
      );
  }
  if (routeId === "open" && err.code !== "ERR_BAD_NAME") {
    return body(P2PD_ERROR.connectFailed, `Con ${con} failed connect.`);
  }
  return body("Exception", err.message);
}
