import { createServer, type Server, type Socket } from "node:net";
import { P2pdNodeError } from "./errors.js";

/** An MQTT broker running in this process (aedes), listening on loopback by default. */
export interface EmbeddedBroker {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts an in-process aedes broker: the offline default for signaling, and what tests and the
 * demo use. Port 0 picks a free one.
 */
export async function startBroker(
  opts: { host?: string; port?: number; signal?: AbortSignal } = {},
): Promise<EmbeddedBroker> {
  opts.signal?.throwIfAborted();
  const { Aedes } = await import("aedes");
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    // Signals are tiny and latency-bound: no Nagle delay.
    sock.setNoDelay(true);
    sock.on("close", () => sockets.delete(sock));
    broker.handle(sock);
  });
  const host = opts.host ?? "127.0.0.1";
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port: opts.port ?? 0, signal: opts.signal }, () => resolve());
    });
  } catch (err) {
    await new Promise<void>((r) => broker.close(() => r()));
    throw new P2pdNodeError("ERR_BIND", `broker cannot listen on ${host}: ${err}`, { cause: err });
  }
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url: `mqtt://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close() {
      closing ??= (async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => server.close(() => r()));
        await new Promise<void>((r) => broker.close(() => r()));
      })();
      return closing;
    },
  };
}
