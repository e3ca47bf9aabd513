import { isIP } from "node:net";
import { P2pdNodeError } from "../errors.js";

/** Checks a host:port object received over signaling (IP literal, port 1..65535). */
export function hostPortField(v: unknown, what: string): { host: string; port: number } {
  const o = v as { host?: unknown; port?: unknown } | null;
  if (
    !o ||
    typeof o !== "object" ||
    typeof o.host !== "string" ||
    isIP(o.host) === 0 ||
    !Number.isInteger(o.port) ||
    (o.port as number) < 1 ||
    (o.port as number) > 65535
  )
    throw new P2pdNodeError("ERR_SIGNAL_FORMAT", `bad ${what}`);
  return { host: o.host, port: o.port as number };
}

/** A list of 1..max ports. */
export function portsField(v: unknown, max = 64): number[] {
  if (
    !Array.isArray(v) ||
    v.length === 0 ||
    v.length > max ||
    !v.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)
  )
    throw new P2pdNodeError("ERR_SIGNAL_FORMAT", "bad port list");
  return v as number[];
}

export function ipField(v: unknown, what: string): string {
  if (typeof v !== "string" || isIP(v) === 0)
    throw new P2pdNodeError("ERR_SIGNAL_FORMAT", `bad ${what}`);
  return v;
}

export function numberField(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new P2pdNodeError("ERR_SIGNAL_FORMAT", `bad ${what}`);
  return v;
}

/** Parses "host:port" / "[v6]:port" / "turn:host:port" into an IP literal endpoint. */
export function parseServer(text: string, defaultPort = 3478): { host: string; port: number } {
  const s = text.replace(/^(stun|turns?):/, "").replace(/\?.*$/, "");
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  const host = m?.[1];
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  if (!host || isIP(host) === 0 || port < 1 || port > 65535)
    throw new P2pdNodeError("ERR_BAD_SERVER", `server must be IP:PORT, got "${text}"`);
  return { host, port };
}
