// Loopback servers for the server-choice tests: honest RFC 5780 STUN servers (@p2pd/stun's),
// STUN servers that lie, stay silent or answer late, MQTT brokers (aedes) and TCP listeners that
// accept and never answer (a dead broker as the Internet shows it: no CONNACK, ever).
import { createSocket } from "node:dgram";
import { createServer, type Socket } from "node:net";
import { ATTR, decodeMessage, encodeMessage, StunMessage, StunServer } from "@p2pd/stun";
import { afterEach } from "vitest";
import { startBroker } from "../../src/broker.js";
import type { MqttServerEntry, StunServerEntry } from "../../src/servers/list.js";

type Closable = { close(): Promise<void> };

/**
 * `track(x)` (or a promise of x) for the file's tests: whatever it was given is closed after each
 * test, pass or fail.
 */
export function closedAfterEach() {
  const open: Closable[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  function track<T extends Closable>(x: T): T;
  function track<T extends Closable>(x: Promise<T>): Promise<T>;
  function track<T extends Closable>(x: T | Promise<T>): T | Promise<T> {
    if (x instanceof Promise) return x.then((s) => track(s));
    open.push(x);
    return x;
  }
  return track;
}

export interface Fake {
  entry: StunServerEntry;
  close(): Promise<void>;
}

/** An honest RFC 5780 server on two loopback IPs; its entry lists the right alternate. */
export async function honestStun(ip: string, altIp: string): Promise<Fake> {
  const srv = await new StunServer({
    ips: [ip, altIp],
    port: 0,
    altPort: 0,
    protocols: ["udp"],
  }).listen();
  const eps = srv.endpoints();
  const primary = eps.find((e) => e.ipIndex === 0 && e.portIndex === 0);
  const alt = eps.find((e) => e.ipIndex === 1 && e.portIndex === 1);
  if (!primary || !alt) throw new Error("no endpoints");
  return {
    entry: {
      ip,
      port: primary.port,
      altIp,
      altPort: alt.port,
      family: 4,
      transport: "udp",
    },
    close: () => srv.close(),
  };
}

export interface FakeStunOptions {
  /** Mapped IP to claim instead of the truth. */
  mappedIp?: string;
  /** OTHER-ADDRESS to report (default: the listed alternate, ip+1 / port+1). */
  other?: { host: string; port: number };
  silent?: boolean;
  delayMs?: number;
}

/** A STUN responder that may lie, stay silent or answer late; its entry claims RFC 5780. */
export async function fakeStun(
  ip: string,
  opts: FakeStunOptions = {},
): Promise<Fake & { received: number }> {
  const sock = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, ip, () => r()));
  const port = sock.address().port;
  const listedAlt = { host: "127.99.0.1", port: port + 1 };
  const state = { received: 0 };
  const timers = new Set<NodeJS.Timeout>();
  sock.on("message", (buf, rinfo) => {
    state.received++;
    if (opts.silent) return;
    let req: StunMessage;
    try {
      req = decodeMessage(new Uint8Array(buf));
    } catch {
      return;
    }
    const res = new StunMessage({
      method: req.method,
      cls: "success",
      transactionId: req.transactionId,
    });
    res.addAddress(ATTR.XOR_MAPPED_ADDRESS, {
      host: opts.mappedIp ?? rinfo.address,
      port: rinfo.port,
    });
    res.addAddress(ATTR.OTHER_ADDRESS, opts.other ?? listedAlt);
    const send = () =>
      sock.send(encodeMessage(res, { fingerprint: true }), rinfo.port, rinfo.address);
    if (!opts.delayMs) return send();
    const t = setTimeout(() => {
      timers.delete(t);
      send();
    }, opts.delayMs);
    timers.add(t);
  });
  return {
    get received() {
      return state.received;
    },
    entry: {
      ip,
      port,
      altIp: listedAlt.host,
      altPort: listedAlt.port,
      family: 4,
      transport: "udp",
    },
    close: () =>
      new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t);
        sock.close(() => r());
      }),
  };
}

export interface FakeBroker {
  entry: MqttServerEntry;
  close(): Promise<void>;
}

const mqttEntry = (ip: string, port: number): MqttServerEntry => ({
  url: `mqtt://${ip}:${port}`,
  ip,
  port,
  family: 4,
  tls: false,
});

/** A real MQTT broker (aedes) on a loopback IP. */
export async function realBroker(ip = "127.0.0.1"): Promise<FakeBroker> {
  const b = await startBroker({ host: ip });
  return { entry: mqttEntry(ip, b.port), close: () => b.close() };
}

/** Accepts TCP connections and never says a word: a broker that is there but dead. */
export async function silentBroker(ip = "127.0.0.1"): Promise<FakeBroker & { accepted: number }> {
  const socks = new Set<Socket>();
  const state = { accepted: 0 };
  const srv = createServer((s) => {
    state.accepted++;
    socks.add(s);
    s.on("error", () => {});
    s.on("close", () => socks.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, ip, () => r()));
  const port = (srv.address() as { port: number }).port;
  return {
    get accepted() {
      return state.accepted;
    },
    entry: mqttEntry(ip, port),
    close: () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        srv.close(() => r());
      }),
  };
}
