// The mappings one mapper holds, each renewed at half its lease until removed, lost or closed.
import type { MapMethod, Target } from "./methods/method.js";
import type { PortMapMethod, PortMapperOptions, PortMapping } from "./types.js";

export interface Held {
  mapping: PortMapping;
  /** The request as made (lifetime asked for), with the external port granted. */
  target: Target & { lifetime: number };
  timer?: NodeJS.Timeout;
}

/** One mapping per family, protocol and internal port. */
export const keyOf = (t: { family: number; proto: string; port: number }): string =>
  `${t.family}/${t.proto}/${t.port}`;

/** A held mapping as its method needs it to renew or delete it. */
export const current = (h: Held): Target & { lifetime: number } => ({
  ...h.target,
  externalPort: h.mapping.external.port,
  internalAddress: h.mapping.internal.ip,
  ...(h.mapping.handle ? { handle: h.mapping.handle } : {}),
});

export interface LeaseOptions {
  methods: Record<PortMapMethod, MapMethod>;
  /** Bounds every renewal; aborted when the mapper closes. */
  signal: AbortSignal;
  renew?: boolean | undefined;
  onChange?: PortMapperOptions["onChange"];
  log?: ((line: string) => void) | undefined;
}

export class Leases {
  readonly #held = new Map<string, Held>();
  readonly #o: LeaseOptions;
  #closed = false;

  constructor(o: LeaseOptions) {
    this.#o = o;
  }

  /** Holds `h` in place of any mapping for the same port, and schedules its renewal. */
  hold(h: Held): void {
    const k = keyOf(h.target);
    clearTimeout(this.#held.get(k)?.timer);
    this.#held.set(k, h);
    this.#schedule(h);
  }

  /** Forgets the first of these held (no more renewals) and returns it. */
  drop(keys: string[]): Held | undefined {
    const k = keys.find((x) => this.#held.has(x));
    const h = k === undefined ? undefined : this.#held.get(k);
    if (k === undefined || !h) return undefined;
    clearTimeout(h.timer);
    this.#held.delete(k);
    return h;
  }

  list(): PortMapping[] {
    return [...this.#held.values()].map((h) => ({ ...h.mapping }));
  }

  /** The gateway lost every mapping (it rebooted): re-make its ones now, not at the next renewal. */
  renewNow(gateway: string): void {
    for (const h of this.#held.values()) if (h.mapping.gateway === gateway) this.#renewIn(h, 0);
  }

  /** Stops every renewal for good; returns what was held. */
  close(): Held[] {
    this.#closed = true;
    const all = [...this.#held.values()];
    this.#held.clear();
    for (const h of all) clearTimeout(h.timer);
    return all;
  }

  #renewIn(h: Held, ms: number): void {
    clearTimeout(h.timer);
    h.timer = setTimeout(() => void this.#renew(h), ms);
    h.timer.unref?.();
  }

  #schedule(h: Held): void {
    const m = h.mapping;
    if (this.#o.renew === false || this.#closed || m.lifetime === 0 || m.expiresAt === undefined)
      return;
    // Renew at half the lease; after a failure, retry at half of what is left.
    this.#renewIn(h, Math.max(500, Math.min((m.expiresAt - Date.now()) / 2, 2 ** 31 - 1)));
  }

  async #renew(h: Held): Promise<void> {
    if (this.#closed) return;
    const { log, onChange } = this.#o;
    const m = h.mapping;
    const mine = (): boolean => this.#held.get(keyOf(h.target)) === h;
    try {
      const r = await this.#o.methods[m.method].map(current(h), this.#o.signal);
      // Removed (or replaced) while the renewal was on its way: not ours to keep renewing.
      if (!mine()) return;
      m.lifetime = r.lifetime;
      m.expiresAt = r.lifetime ? Date.now() + r.lifetime * 1000 : undefined;
      m.external = r.external.ip ? r.external : { ...r.external, ip: m.external.ip };
      m.renewals++;
      log?.(`${m.method}: renewed ${m.protocol}/${m.internal.port} for ${r.lifetime} s`);
      onChange?.(m, "renewed");
    } catch (e) {
      if (this.#closed) return;
      log?.(`${m.method}: renewal failed: ${(e as Error).message}`);
      if (m.expiresAt !== undefined && Date.now() >= m.expiresAt) {
        if (mine()) this.#held.delete(keyOf(h.target));
        onChange?.(m, "lost", e);
        return;
      }
    }
    this.#schedule(h);
  }
}
