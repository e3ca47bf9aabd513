// A StunServer worker process (see server-workers.ts): it receives the primary's UDP sockets and
// answers on them with the same code, so each core reads the shared sockets. Not part of the API.
import type { Socket as UdpSocket } from "node:dgram";
import type { AnswerContext } from "./server-answer.js";
import { fastTail } from "./server-fast.js";
import { onDatagram, type UdpListener, type UdpStats } from "./server-udp.js";
import type { WorkerConfig, WorkerMessage } from "./server-workers.js";

let ctx: AnswerContext | undefined;
const listeners: UdpListener[] = [];
const stats: UdpStats = { received: 0, answered: 0, dropped: 0 };

function flush(): void {
  if (stats.received === 0 || !process.connected) return;
  process.send?.({ t: "stats", ...stats } satisfies WorkerMessage);
  stats.received = stats.answered = stats.dropped = 0;
}

// Counters reach the primary in batches, not per request.
const timer = setInterval(flush, 100);

function stop(): void {
  clearInterval(timer);
  for (const l of listeners) l.udp?.close();
  listeners.length = 0;
  flush();
  process.disconnect?.();
}

process.on("disconnect", () => {
  // The primary went away (or asked us to stop): nothing may outlive it.
  clearInterval(timer);
  for (const l of listeners) l.udp?.close();
  listeners.length = 0;
});

process.on("message", (m: WorkerMessage, handle?: UdpSocket) => {
  if (m.t === "config") {
    const c: WorkerConfig = m.config;
    const debug = c.debug
      ? (line: string) => process.send?.({ t: "debug", line } satisfies WorkerMessage)
      : undefined;
    ctx = {
      ips: c.ips,
      ports: c.ports,
      software: c.software ? new TextEncoder().encode(c.software) : undefined,
      maxAmplification: c.maxAmplification,
      maxRequestSize: c.maxRequestSize,
      ownCache: new Map(),
      debug,
    };
  } else if (m.t === "socket" && handle && ctx) {
    const l: UdpListener = { ipIndex: m.ipIndex, portIndex: m.portIndex, udp: handle };
    l.tail = fastTail(ctx, l);
    const c = ctx;
    handle.on("error", (err) => c.debug?.(`stun-server worker: udp error ${err.message}`));
    handle.on("message", (data, rinfo) => onDatagram(c, listeners, l, data, rinfo, stats));
    listeners.push(l);
    if (listeners.length === m.of) process.send?.({ t: "ready" } satisfies WorkerMessage);
  } else if (m.t === "stop") stop();
});
