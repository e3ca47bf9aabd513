import { TraversalError } from "./errors.js";

/** Same shape as @p2pd/nat's `Delta` (kept structural to avoid a build-order dependency). */
export interface DeltaLike {
  kind: "not-applicable" | "equal" | "preserving" | "independent" | "dependent" | "random";
  value: number;
}

const PORT_MIN = 1024;
const PORT_SPAN = 65536 - PORT_MIN;

function wrap(p: number): number {
  return PORT_MIN + ((((p - PORT_MIN) % PORT_SPAN) + PORT_SPAN) % PORT_SPAN);
}

/**
 * Next mapped ports of a NAT from the last mapping seen: `delta` is the per-mapping step (a
 * number, or a NAT delta). Step 0 (EIM / equal / preserving) predicts the same port again.
 * Returns `count` distinct candidates, nearest first, wrapped into 1024..65535.
 */
export function predictPorts(
  delta: number | DeltaLike,
  lastMappedPort: number,
  count: number,
): number[] {
  if (!Number.isInteger(lastMappedPort) || lastMappedPort < 1 || lastMappedPort > 65535) {
    throw new TraversalError("ERR_INVALID_ARGUMENT", `bad port ${lastMappedPort}`);
  }
  if (!Number.isInteger(count) || count < 1 || count > 4096) {
    throw new TraversalError("ERR_INVALID_ARGUMENT", `bad count ${count}`);
  }
  let step: number;
  if (typeof delta === "number") step = delta;
  else if (delta.kind === "independent" || delta.kind === "dependent") step = delta.value;
  else if (delta.kind === "random") {
    throw new TraversalError("ERR_INVALID_ARGUMENT", "a random NAT is not predictable");
  } else step = 0;
  if (!Number.isInteger(step))
    throw new TraversalError("ERR_INVALID_ARGUMENT", `bad delta ${step}`);
  if (step === 0) return [lastMappedPort];
  const out: number[] = [];
  const seen = new Set<number>();
  // Other traffic through the NAT may consume a few ports first, so candidates are every step
  // from the next one on.
  for (let k = 1; out.length < count && k <= count * 2; k++) {
    const p = wrap(lastMappedPort + step * k);
    if (!seen.has(p)) {
      seen.add(p);
      out.push(p);
    }
  }
  return out;
}
