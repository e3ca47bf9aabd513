import type { P2PAddress } from "../address.js";
import { bundledServers } from "./list.js";

/** The bundled brokers' URLs by index (an address names bundled brokers by these indexes). */
export function bundledBrokerUrls(): string[] {
  bundledUrls ??= bundledServers().mqtt.map((m) => m.url);
  return [...bundledUrls];
}

/** Constant (the bundled list), computed once: every connect and address build reads it. */
let bundledUrls: readonly string[] | undefined;

/**
 * Where an address says its node listens: bundled indexes resolved to URLs, then full URLs.
 * Indexes past the bundled list (a newer list than ours) are skipped.
 */
export function peerBrokerUrls(
  addr: Pick<P2PAddress, "signal" | "brokers">,
  bundled = bundledBrokerUrls(),
): string[] {
  const urls = addr.signal.map((i) => bundled[i]).filter((u): u is string => u !== undefined);
  for (const u of addr.brokers ?? []) if (!urls.includes(u)) urls.push(u);
  return urls;
}

/** How an address names our brokers: bundled index when the URL is a bundled one, else the URL. */
export function rendezvousOf(
  urls: readonly string[],
  bundled = bundledBrokerUrls(),
): { signal: number[]; brokers: string[] } {
  const signal: number[] = [];
  const brokers: string[] = [];
  for (const u of urls) {
    const i = bundled.indexOf(u);
    if (i >= 0 && i <= 255) signal.push(i);
    else brokers.push(u);
  }
  return { signal: signal.slice(0, 6), brokers: brokers.slice(0, 6) };
}
