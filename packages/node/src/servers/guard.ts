import { DEFAULT_SERVERS, parseServer } from "@p2pd/ircdns";
import { P2pdNodeError } from "../errors.js";
import { bundledServers } from "./list.js";

/**
 * Test safety net: with `P2PD_FORBID_PUBLIC_SERVERS=1` in the environment (every vitest config of
 * the repo sets it), probing any server of the bundled lists (or a default IRC network) throws ERR_PUBLIC_SERVER instead of
 * sending a packet. Only the namespaced lab, whose routes point those IPs at the lab, unsets it.
 */
export function assertMayContact(
  entries: readonly { ip: string }[],
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (env.P2PD_FORBID_PUBLIC_SERVERS !== "1" || entries.length === 0) return;
  const l = bundledServers();
  const pub = new Set<string>();
  for (const s of l.stun) {
    pub.add(s.ip);
    if (s.altIp) pub.add(s.altIp);
  }
  for (const e of [...l.mqtt, ...l.turn]) pub.add(e.ip);
  // The IRC networks names use by default (@p2pd/ircdns, by IP).
  for (const d of DEFAULT_SERVERS) pub.add(parseServer(d).host);
  const hit = entries.find((e) => pub.has(e.ip));
  if (hit)
    throw new P2pdNodeError(
      "ERR_PUBLIC_SERVER",
      `refusing to contact bundled public server ${hit.ip} (P2PD_FORBID_PUBLIC_SERVERS=1)`,
    );
}
