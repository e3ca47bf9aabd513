// The general answer to one request (any Binding request, RFC 3489 or 5389/5780, UDP or TCP).
import { decodeMessage, encodeMessage } from "./codec.js";
import { ATTR, HEADER_SIZE, KNOWN_REQUIRED_ATTRS, METHOD } from "./constants.js";
import type { StunEndpoint } from "./endpoint.js";
import { encodeAddress, type StunAttribute, StunMessage } from "./message.js";

/** Which of the (up to) four RFC 5780 addresses: ip index 0|1, port index 0|1. */
export interface ListenerIndex {
  ipIndex: 0 | 1;
  portIndex: 0 | 1;
}

/** What the server knows when it answers; `ports` is filled in place as sockets bind. */
export interface AnswerContext {
  readonly ips: readonly string[];
  readonly ports: readonly number[];
  readonly software: Uint8Array | undefined;
  readonly maxAmplification: number;
  readonly maxRequestSize: number;
  /** Plain (non-XOR) addresses of our own sockets never change: encoded once. */
  readonly ownCache: Map<string, Uint8Array>;
  readonly debug: ((line: string) => void) | undefined;
}

export interface Reply {
  bytes: Uint8Array;
  via: ListenerIndex;
  to: StunEndpoint;
}

/** Decides the answer to one request, or undefined for silence. Never throws. */
export function answerRequest(
  ctx: AnswerContext,
  data: Uint8Array,
  from: StunEndpoint,
  l: ListenerIndex,
  protocol: "udp" | "tcp",
): Reply | undefined {
  try {
    return decide(ctx, data, from, l, protocol);
  } catch (e) {
    // Defensive: a bug here must cost one answer, never the process.
    ctx.debug?.(`stun-server: internal error: ${(e as Error).message}`);
    return undefined;
  }
}

/** True for an IP that names one host (RESPONSE-ORIGIN / SOURCE-ADDRESS are sent only then). */
export function concreteHost(h: string): boolean {
  return h !== "0.0.0.0" && h !== "::";
}

function decide(
  ctx: AnswerContext,
  data: Uint8Array,
  from: StunEndpoint,
  l: ListenerIndex,
  protocol: "udp" | "tcp",
): Reply | undefined {
  if (data.length < HEADER_SIZE || data.length > ctx.maxRequestSize) return undefined;
  let req: StunMessage;
  let change: { changeIp: boolean; changePort: boolean } | undefined;
  let responsePort: number | undefined;
  try {
    req = decodeMessage(data, { legacy: true });
    change = req.getChangeRequest();
    responsePort = req.getResponsePort();
    // Port 0 cannot be sent to: a request asking for it is malformed, not a reason to crash.
    if (responsePort === 0) return undefined;
  } catch (e) {
    ctx.debug?.(
      `stun-server: dropped malformed message from ${from.host}:${from.port}: ${(e as Error).message}`,
    );
    return undefined;
  }
  if (req.cls !== "request" || req.method !== METHOD.BINDING) return undefined;
  const budget = Math.floor(ctx.maxAmplification * data.length);
  const wantsFingerprint = req.has(ATTR.FINGERPRINT);
  const here = { ipIndex: l.ipIndex, portIndex: l.portIndex };
  const error = (code: number, reason: string, unknown?: number[]): Reply | undefined => {
    const m = new StunMessage({
      method: METHOD.BINDING,
      cls: "error",
      transactionId: req.transactionId,
    });
    m.addErrorCode(code, reason);
    if (unknown) {
      // Fit the list into the budget: a long list of unknowns must not become an amplifier.
      const base = HEADER_SIZE + 4 + pad4(4 + reason.length) + 4 + (wantsFingerprint ? 8 : 0);
      m.addUnknownAttributes(unknown.slice(0, Math.max(0, Math.floor((budget - base) / 4) * 2)));
    }
    const bytes = encodeMessage(m, { fingerprint: wantsFingerprint });
    return bytes.length <= budget ? { bytes, via: here, to: from } : undefined;
  };
  const unknown: number[] = [];
  for (const a of req.attributes) {
    const t = a.type;
    if (t < 0x8000 && !KNOWN_REQUIRED_ATTRS.has(t) && !unknown.includes(t)) unknown.push(t);
  }
  if (unknown.length > 0) return error(420, "Unknown Attribute", unknown);
  const wantsChange = !!change && (change.changeIp || change.changePort);
  if (wantsChange && protocol === "tcp") return error(400, "CHANGE-REQUEST needs UDP");
  if (responsePort !== undefined && req.has(ATTR.PADDING))
    return error(400, "PADDING with RESPONSE-PORT");
  const via = {
    ipIndex: (change?.changeIp ? 1 - l.ipIndex : l.ipIndex) as 0 | 1,
    portIndex: (change?.changePort ? 1 - l.portIndex : l.portIndex) as 0 | 1,
  };
  if (ctx.ips[via.ipIndex] === undefined || ctx.ports[via.portIndex] === undefined) {
    return error(420, "Cannot change address", [ATTR.CHANGE_REQUEST]);
  }
  const to =
    protocol === "udp" && responsePort !== undefined ? { ...from, port: responsePort } : from;
  const tid = req.transactionId;
  const attrs: StunAttribute[] = [];
  let size = HEADER_SIZE + (wantsFingerprint ? 8 : 0);
  const push = (type: number, value: Uint8Array, required = false): void => {
    const n = 4 + pad4(value.length);
    if (!required && size + n > budget) return;
    attrs.push({ type, value });
    size += n;
  };
  const addr = (type: number, ep: { host: string; port: number }) => encodeAddress(type, ep, tid);
  const own = (type: number, ep: { host: string; port: number }) => {
    const k = `${type}/${ep.host}/${ep.port}`;
    let v = ctx.ownCache.get(k);
    if (!v) {
      v = encodeAddress(type, ep, tid);
      ctx.ownCache.set(k, v);
    }
    return v;
  };
  const originHost = ctx.ips[via.ipIndex] ?? "";
  const origin = { host: originHost, port: ctx.ports[via.portIndex] ?? 0 };
  const otherIp = ctx.ips[1 - l.ipIndex];
  const otherPort = ctx.ports[1 - l.portIndex];
  const other =
    otherIp !== undefined && otherPort !== undefined
      ? { host: otherIp, port: otherPort }
      : undefined;
  if (req.legacy) {
    push(ATTR.MAPPED_ADDRESS, addr(ATTR.MAPPED_ADDRESS, from), true);
    if (concreteHost(originHost)) push(ATTR.SOURCE_ADDRESS, own(ATTR.SOURCE_ADDRESS, origin));
    if (other) push(ATTR.CHANGED_ADDRESS, own(ATTR.CHANGED_ADDRESS, other));
  } else {
    push(ATTR.XOR_MAPPED_ADDRESS, addr(ATTR.XOR_MAPPED_ADDRESS, from), true);
    if (concreteHost(originHost)) push(ATTR.RESPONSE_ORIGIN, own(ATTR.RESPONSE_ORIGIN, origin));
    if (other) push(ATTR.OTHER_ADDRESS, own(ATTR.OTHER_ADDRESS, other));
    push(ATTR.MAPPED_ADDRESS, addr(ATTR.MAPPED_ADDRESS, from));
  }
  const padding = req.get(ATTR.PADDING);
  if (padding) push(ATTR.PADDING, new Uint8Array(padding.length));
  if (ctx.software) push(ATTR.SOFTWARE, ctx.software);
  if (size > budget) return undefined; // even the bare answer would amplify too much
  const m = new StunMessage({
    method: METHOD.BINDING,
    cls: "success",
    transactionId: tid,
    attributes: attrs,
  });
  return { bytes: encodeMessage(m, { fingerprint: wantsFingerprint && !req.legacy }), via, to };
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}
