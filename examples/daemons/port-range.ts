// Port ranges: "8000-8010", [8000, 8001], or P2PD's nested [start, end] pairs.
import { createServer } from "node:net";
import { Daemon, parsePorts, pipeOpen } from "@p2pd/pipe";

/** Finds `n` consecutive free TCP ports on loopback (a demo needs ports nobody else uses). */
async function freeRun(n: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(false));
      s.listen({ host: "127.0.0.1", port }, () => s.close(() => resolve(true)));
    });
  for (;;) {
    const base = 30000 + Math.floor(Math.random() * 20000);
    const ok = await Promise.all(Array.from({ length: n }, (_, i) => free(base + i)));
    if (ok.every(Boolean)) return base;
  }
}

export default async function main(signal: AbortSignal): Promise<void> {
  console.log(parsePorts([80, [8000, 8002], "9000-9001"]).join(" "));

  const base = await freeRun(3);
  const daemon = new Daemon({ onMessage: (m) => m.pipe.send(m.data, m.from) });
  await daemon.listenAll("127.0.0.1", `${base}-${base + 2}`, "tcp", { signal });
  console.log("listening on", daemon.servers.map((s) => s.local.port).join(", "));

  const last = await pipeOpen("tcp", undefined, { host: "127.0.0.1", port: base + 2 }, { signal });
  await last.send("ping");
  console.log((await last.recv({ signal })).toString());
  await last.close();
  await daemon.close(); // every listener and every accepted client
}
