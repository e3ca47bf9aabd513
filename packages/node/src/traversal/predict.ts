import { type Delta, natInfo, predictMappings } from "@p2pd/nat";
import { TraversalError } from "./errors.js";

/** @p2pd/nat's `Delta`, under the name the traversal API has always exported. */
export type DeltaLike = Delta;

/** NATs allocate from the dynamic range; predictions wrap there. */
const PORT_RANGE: [number, number] = [1024, 65535];

/**
 * Next mapped ports of a NAT from the last mapping seen: `delta` is the per-mapping step (a
 * number, or a NAT delta). Step 0 (EIM / equal / preserving) predicts the same port again: the
 * punch reuses the socket whose mapping was just read, so no new mapping is made.
 * Returns up to `count` distinct candidates, nearest first, wrapped into 1024..65535.
 */
export function predictPorts(
  delta: number | Delta,
  lastMappedPort: number,
  count: number,
): number[] {
  if (!Number.isInteger(lastMappedPort) || lastMappedPort < 1 || lastMappedPort > 65535) {
    throw new TraversalError("ERR_BAD_ARGUMENT", `bad port ${lastMappedPort}`);
  }
  if (!Number.isInteger(count) || count < 1 || count > 4096) {
    throw new TraversalError("ERR_BAD_ARGUMENT", `bad count ${count}`);
  }
  let step: number;
  if (typeof delta === "number") step = delta;
  else if (delta.kind === "independent" || delta.kind === "dependent") step = delta.value;
  else if (delta.kind === "random") {
    throw new TraversalError("ERR_BAD_ARGUMENT", "a random NAT is not predictable");
  } else step = 0;
  if (!Number.isInteger(step)) throw new TraversalError("ERR_BAD_ARGUMENT", `bad delta ${step}`);
  if (step === 0) return [lastMappedPort];
  // Other traffic through the NAT may consume a few ports first, so candidates are every step
  // from the next one on: @p2pd/nat's stepping, of which only the mapped side matters here.
  const next = predictMappings(natInfo("symmetric", { kind: "independent", value: step }), {
    last: { local: 0, mapped: lastMappedPort },
    count: count * 2,
    range: PORT_RANGE,
    pickPort: () => 0,
  });
  // A step that divides the range repeats ports: keep each once, from twice as many steps.
  return [...new Set(next.map((p) => p.mapped))].slice(0, count);
}
