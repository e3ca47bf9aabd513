import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { isPipeError, type PipeErrorCode } from "../src/index.js";

/** Socket handles this process holds (what a leak would leave behind). */
export function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => /TCP|UDP/.test(r)).length;
}

/** Pending timers (recv / connect / close timeouts must all be cleared). */
export function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
}

/** Lets the event loop retire closed handles before counting. */
export const settle = () => new Promise((r) => setTimeout(r, 20));

/** The PipeError code a promise rejects with ("no error" / "untyped: ..." otherwise). */
export async function code(p: Promise<unknown>): Promise<PipeErrorCode | string> {
  try {
    await p;
    return "no error";
  } catch (e) {
    return isPipeError(e) ? e.code : `untyped: ${String(e)}`;
  }
}

export function tcpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen({ host, port }, () => s.close(() => resolve(true)));
  });
}

export function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.once("error", () => {
      s.close();
      resolve(false);
    });
    s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}
