import { createSocket } from "node:dgram";
import { connect as tcpConnect } from "node:net";
import { createUdpTransport, StunClient, type StunTransport } from "@p2pd/stun";
import { codeOf } from "../errors.js";
import type { MqttServerEntry, StunServerEntry } from "./list.js";

/** What one STUN server said (or why it said nothing). */
export interface StunProbe {
  server: StunServerEntry;
  ok: boolean;
  rtt?: number;
  /** Our address as the server saw it. */
  mapped?: { ip: string; port: number };
  /** RFC 5780 OTHER-ADDRESS it reported. */
  other?: { ip: string; port: number };
  code?: string;
}

export interface MqttProbe {
  server: MqttServerEntry;
  ok: boolean;
  rtt?: number;
  code?: string;
}

/**
 * One UDP socket for all STUN probes of a start, so every server sees the same local port and
 * their mapped addresses can be compared. Counts the datagrams it sends.
 */
export class StunProber {
  sent = 0;
  readonly #client: StunClient;

  private constructor(client: StunClient) {
    this.#client = client;
  }

  static async open(
    opts: { family?: 4 | 6; localAddress?: string; signal?: AbortSignal } = {},
  ): Promise<StunProber> {
    opts.signal?.throwIfAborted();
    const sock = createSocket({ type: opts.family === 6 ? "udp6" : "udp4" });
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind({ port: 0, address: opts.localAddress }, () => {
        sock.off("error", reject);
        resolve();
      });
    });
    // Late ICMP errors and the like must not crash the process.
    sock.on("error", () => {});
    const inner = createUdpTransport(sock, { owned: true });
    let prober: StunProber | undefined;
    const counting: StunTransport = {
      protocol: "udp",
      send(data, to) {
        if (prober) prober.sent++;
        inner.send(data, to);
      },
      subscribe: (m, c) => inner.subscribe(m, c),
      local: () => inner.local(),
      close: () => inner.close(),
    };
    prober = new StunProber(new StunClient(counting));
    return prober;
  }

  /**
   * Binding request to the server's primary address: `sends` datagrams `rtoMs` apart, then gives
   * up `rtoMs` after the last one. Never throws: a failure is `{ ok: false, code }`.
   */
  async probe(
    server: StunServerEntry,
    opts: { rtoMs: number; sends: number; signal?: AbortSignal },
  ): Promise<StunProbe> {
    try {
      const r = await this.#client.binding(
        { host: server.ip, port: server.port },
        { rto: opts.rtoMs, rc: opts.sends, rm: 1, signal: opts.signal },
      );
      const out: StunProbe = {
        server,
        ok: true,
        rtt: Math.round(r.rtt),
        mapped: { ip: r.mapped.host, port: r.mapped.port },
      };
      if (r.otherAddress) out.other = { ip: r.otherAddress.host, port: r.otherAddress.port };
      return out;
    } catch (err) {
      return { server, ok: false, code: codeOf(err) };
    }
  }

  close(): void {
    this.#client.close();
  }
}

/** MQTT 3.1.1 CONNECT (clean session, no credentials) for a probe. */
function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([
    Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 10, id.length >> 8, id.length & 255]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/**
 * Connects to a broker and waits for CONNACK accepted (return code 0), then disconnects. One TCP
 * connection; plain MQTT only (a TLS broker is reported as `ERR_PROBE_TLS`, not probed here).
 */
export function probeMqtt(
  server: MqttServerEntry,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<MqttProbe> {
  if (server.tls) return Promise.resolve({ server, ok: false, code: "ERR_PROBE_TLS" });
  return new Promise<MqttProbe>((resolve) => {
    const t0 = performance.now();
    const sock = tcpConnect({ host: server.ip, port: server.port });
    let buf = Buffer.alloc(0);
    let settled = false;
    const done = (r: Omit<MqttProbe, "server">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      if (r.ok) sock.end(Buffer.from([0xe0, 0]));
      sock.destroy();
      resolve({ server, ...r });
    };
    const onAbort = () => done({ ok: false, code: "ABORT_ERR" });
    const timer = setTimeout(() => done({ ok: false, code: "ERR_TIMEOUT" }), opts.timeoutMs);
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    sock.setNoDelay(true);
    sock.on("error", (err) => done({ ok: false, code: codeOf(err) }));
    sock.on("close", () => done({ ok: false, code: "ERR_CLOSED" }));
    sock.on("connect", () =>
      sock.write(connectPacket(`p2pd-probe-${Math.random().toString(36).slice(2, 10)}`)),
    );
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4) return;
      const good = buf[0] === 0x20 && buf[1] === 2 && buf[3] === 0;
      done(
        good
          ? { ok: true, rtt: Math.round(performance.now() - t0) }
          : { ok: false, code: "ERR_PROBE_REFUSED" },
      );
    });
  });
}
