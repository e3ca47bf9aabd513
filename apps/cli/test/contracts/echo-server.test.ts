import { createSocket } from "node:dgram";
import { once } from "node:events";
import { connect } from "node:net";
import { describe, expect, test } from "vitest";
import {
  built,
  contractFile,
  expectFailure,
  expectUsages,
  noStack,
  p2pd,
  serve,
} from "./harness.js";

// The CLI contract of `p2pd echo-server` (issue 3).
contractFile();

describe.skipIf(!built)("p2pd echo-server (issue 3)", () => {
  test("prints one JSON line with where it listens, echoes TCP and UDP, stops on SIGINT", async () => {
    const s = await serve(["echo-server", "--port", "0", "--host", "127.0.0.1", "--json"]);
    const listening = s.first.listening as { proto: string; host: string; port: number }[];
    expect(Object.keys(s.first)).toEqual(["listening"]);
    expect(listening.map((l) => l.proto).sort()).toEqual(["tcp", "udp"]);
    for (const l of listening) {
      expect(l.host).toBe("127.0.0.1");
      expect(Number.isInteger(l.port) && l.port > 0).toBe(true);
    }
    const tcp = listening.find((l) => l.proto === "tcp");
    const udp = listening.find((l) => l.proto === "udp");
    if (!tcp || !udp) throw new Error("no tcp or udp listener");
    const sock = connect(tcp.port, "127.0.0.1");
    await once(sock, "connect");
    sock.write("ping-tcp");
    const [reply] = await once(sock, "data");
    expect(String(reply)).toBe("ping-tcp");
    sock.destroy();
    const u = createSocket("udp4");
    u.send("ping-udp", udp.port, "127.0.0.1");
    const [msg] = await once(u, "message");
    expect(String(msg)).toBe("ping-udp");
    u.close();
    const r = await s.stop();
    // A clean stop on SIGINT (echo-server and stun-server exit 0; node and serve 130, see README).
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${s.firstRaw}\n`);
    noStack(r.err);
  });

  test("bad input: no --port, port out of range, unknown proto, missing flag value -> exit 2", async () => {
    await expectUsages(
      ["echo-server"],
      ["echo-server", "--port", "99999"],
      ["echo-server", "--port", "abc"],
      ["echo-server", "--port", "0", "--proto", "sctp"],
      ["echo-server", "--port"],
    );
  });

  test("a port already taken -> exit 1 with a typed error", async () => {
    const s = await serve(["echo-server", "--port", "0", "--host", "127.0.0.1", "--proto", "tcp"]);
    try {
      const line = s.firstRaw; // human mode: "... port N"
      const port = /port (\d+)/.exec(line)?.[1];
      expect(port).toBeDefined();
      const r = await p2pd([
        "echo-server",
        "--port",
        String(port),
        "--host",
        "127.0.0.1",
        "--proto",
        "tcp",
        "--json",
      ]);
      expectFailure(r);
    } finally {
      await s.stop();
    }
  });
});
