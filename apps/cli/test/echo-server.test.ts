import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { pipe } from "p2pd";
import { describe, expect, test } from "vitest";
import { run } from "../src/cli.js";

type Listening = { listening: Array<{ proto: "tcp" | "udp"; host: string; port: number }> };

/** Starts `p2pd echo-server` in-process; resolves once it printed its JSON line. */
function start(...argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const ac = new AbortController();
  let out = "";
  let err = "";
  stderr.on("data", (d) => (err += d));
  const ready = new Promise<Listening>((resolve) => {
    stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n")[0] as string;
      if (out.includes("\n") && line.startsWith("{")) resolve(JSON.parse(line) as Listening);
    });
  });
  const exit = run(["echo-server", ...argv], { stdout, stderr, signal: ac.signal });
  return { ready, exit, stop: () => ac.abort(), err: () => err, out: () => out };
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen({ host, port }, () => s.close(() => resolve(true)));
  });
}

describe("p2pd echo-server", () => {
  test("echoes TCP and UDP on one port, prints JSON when ready, stops on abort", async () => {
    const srv = start("--port", "0", "--host", "127.0.0.1", "--json");
    const { listening } = await srv.ready;
    expect(listening.map((l) => l.proto).sort()).toEqual(["tcp", "udp"]);
    for (const l of listening) {
      expect(l.host).toBe("127.0.0.1");
      expect(l.port).toBeGreaterThan(0);
    }
    const tcp = listening.find((l) => l.proto === "tcp");
    const udp = listening.find((l) => l.proto === "udp");
    if (!tcp || !udp) throw new Error("missing listener");

    // The default chunk framing is byte-transparent, so framed pipe messages come back whole.
    const t = await pipe.pipeOpen("tcp", undefined, { host: tcp.host, port: tcp.port });
    await t.send("hello tcp");
    await t.send("second");
    expect((await t.recv({ timeout: 2000 })).toString()).toBe("hello tcp");
    expect((await t.recv({ timeout: 2000 })).toString()).toBe("second");
    await t.close();

    const u = await pipe.pipeOpen("udp", undefined, { host: udp.host, port: udp.port });
    await u.send("hello udp");
    expect((await u.recv({ timeout: 2000 })).toString()).toBe("hello udp");
    await u.close();

    srv.stop();
    expect(await srv.exit).toBe(0);
    expect(await portFree("127.0.0.1", tcp.port)).toBe(true);
  });

  test("IPv6 host and UDP only, human output", async () => {
    const srv = start("--port", "0", "--proto", "udp", "--host", "::1");
    const first = await new Promise<string>((resolve) => {
      const iv = setInterval(() => {
        if (srv.out().includes("\n")) {
          clearInterval(iv);
          resolve(srv.out());
        }
      }, 10);
    });
    const m = /echo-server listening on udp ::1 port (\d+)/.exec(first);
    expect(m).not.toBeNull();
    const u = await pipe.pipeOpen("udp", undefined, { host: "::1", port: Number(m?.[1]) });
    await u.send("six");
    expect((await u.recv({ timeout: 2000 })).toString()).toBe("six");
    await u.close();
    srv.stop();
    expect(await srv.exit).toBe(0);
  });

  test("bad flags are usage errors (exit 2); an occupied port is ERR_BIND (exit 1)", async () => {
    const io = () => ({ stdout: new PassThrough(), stderr: new PassThrough() });
    expect(await run(["echo-server"], io())).toBe(2);
    expect(await run(["echo-server", "--port", "70000"], io())).toBe(2);
    expect(await run(["echo-server", "--port", "0", "--proto", "sctp"], io())).toBe(2);
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen({ host: "127.0.0.1", port: 0 }, r));
    const port = (blocker.address() as { port: number }).port;
    const o = io();
    let out = "";
    o.stdout.on("data", (d) => (out += d));
    const code = await run(
      ["echo-server", "--port", String(port), "--proto", "tcp", "--host", "127.0.0.1", "--json"],
      o,
    );
    expect(code).toBe(1);
    expect(JSON.parse(out).error.code).toBe("ERR_BIND");
    await new Promise((r) => blocker.close(r));
  });

  const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "index.js");
  test.skipIf(!existsSync(bin))("the built binary runs until SIGINT", async () => {
    const child = spawn(
      process.execPath,
      [bin, "echo-server", "--port", "0", "--proto", "tcp", "--host", "127.0.0.1", "--json"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const line = await new Promise<string>((resolve, reject) => {
      let buf = "";
      child.stdout.on("data", (d) => {
        buf += d;
        if (buf.includes("\n")) resolve(buf.split("\n")[0] as string);
      });
      child.once("exit", (c) => reject(new Error(`exited early with ${c}`)));
    });
    const { listening } = JSON.parse(line) as Listening;
    const port = listening[0]?.port as number;
    const t = await pipe.pipeOpen("tcp", undefined, { host: "127.0.0.1", port });
    await t.send("over the wire");
    expect((await t.recv({ timeout: 2000 })).toString()).toBe("over the wire");
    await t.close();
    const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  });
});
