import { describe, expect, test } from "vitest";
import {
  built,
  contractFile,
  expectFailure,
  expectUsages,
  oneJson,
  p2pd,
  serve,
  silentUdp,
  stunServerForFile,
} from "./harness.js";

// The CLI contract of `p2pd stun-server` and `p2pd stun` (issue 4).
contractFile();
const stunServer = stunServerForFile();

describe.skipIf(!built)("p2pd stun-server and stun (issue 4)", () => {
  test("stun-server prints one JSON line: listening, primary and other {ip, port}", () => {
    const j = stunServer.server.first as {
      listening: { protocol: string; ip: string; port: number }[];
      primary: { ip: string; port: number };
      other: { ip: string; port: number };
      rfc5780: boolean;
    };
    expect(j.primary).toEqual({ ip: "127.0.0.1", port: stunServer.port });
    expect(j.other).toEqual({ ip: "127.0.0.2", port: stunServer.altPort });
    expect(j.rfc5780).toBe(true);
    // two IPs x two ports x UDP and TCP
    expect(j.listening).toHaveLength(8);
  });

  for (const tcp of [false, true]) {
    test(`stun over ${tcp ? "TCP" : "UDP"}: {"mapped": {"ip", "port"}} and the RTT`, async () => {
      const r = await p2pd([
        "stun",
        `127.0.0.1:${stunServer.port}`,
        ...(tcp ? ["--tcp"] : []),
        "--family",
        "4",
        "--json",
      ]);
      expect(r.code, r.err).toBe(0);
      const j = oneJson(r.out) as {
        mapped: { ip: string; port: number };
        rtt: number;
        protocol: string;
      };
      expect(Object.keys(j.mapped).sort()).toEqual(["ip", "port"]);
      expect(j.mapped.ip).toBe("127.0.0.1");
      expect(Number.isInteger(j.mapped.port) && j.mapped.port > 0).toBe(true);
      expect(typeof j.rtt).toBe("number");
      expect(j.rtt).toBeGreaterThanOrEqual(0);
      expect(j.protocol).toBe(tcp ? "tcp" : "udp");
      expect(r.err).toBe("");
    });
  }

  test("stun without --json prints a human line, not JSON", async () => {
    const r = await p2pd(["stun", `127.0.0.1:${stunServer.port}`]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^127\.0\.0\.1:\d+ /);
  });

  test("stun bad input -> exit 2: missing host, bad port, bad host, bad family, family mismatch", async () => {
    await expectUsages(
      ["stun"],
      ["stun", "127.0.0.1:99999"],
      ["stun", "127.0.0.1:abc"],
      ["stun", "a b"],
      ["stun", "bad..host"],
      ["stun", "127.0.0.1", "--family", "5"],
      ["stun", "127.0.0.1", "--family", "6"],
      ["stun", "[::1]:3478", "--family", "4"],
      ["stun", "127.0.0.1", "--local", "not-an-ip"],
      ["stun", "127.0.0.1", "--timeout", "0"],
      ["stun", "127.0.0.1", "127.0.0.2"],
      ["stun", "127.0.0.1", "--rfc4571"],
    );
  });

  test("stun to a silent server -> exit 1 ERR_STUN_TIMEOUT", async () => {
    const silent = await silentUdp();
    try {
      const r = await p2pd([
        "stun",
        `127.0.0.1:${silent.address().port}`,
        "--timeout",
        "300",
        "--json",
      ]);
      expectFailure(r, "ERR_STUN_TIMEOUT");
    } finally {
      silent.close();
    }
  });

  test("stun-server bad input -> exit 2: no --ip, bad ip, three ips, bad ports, bad proto", async () => {
    await expectUsages(
      ["stun-server"],
      ["stun-server", "--ip", "1.2.3"],
      ["stun-server", "--ip", "127.0.0.1", "--ip", "127.0.0.2", "--ip", "127.0.0.3"],
      ["stun-server", "--ip", "127.0.0.1", "--port", "70000"],
      ["stun-server", "--ip", "127.0.0.1", "--alt-port", "-1"],
      ["stun-server", "--ip", "127.0.0.1", "--proto", "sctp"],
      ["stun-server", "--ip", "127.0.0.1", "extra"],
      ["stun-server", "--ip", "127.0.0.1", "--ip", "::1"],
      ["stun-server", "--ip", "127.0.0.1", "--port", "5000", "--alt-port", "5000"],
    );
  });

  test("stun-server with two --ip and no --alt-port is still RFC 5780 (alternate port chosen)", async () => {
    const s = await serve(
      ["stun-server", "--ip", "127.0.0.1", "--ip", "127.0.0.2", "--port", "0"].concat([
        "--proto",
        "udp",
        "--json",
      ]),
    );
    try {
      expect(s.first.rfc5780).toBe(true);
      const other = s.first.other as { ip: string; port: number };
      expect(other.ip).toBe("127.0.0.2");
      expect(other.port).not.toBe((s.first.primary as { port: number }).port);
    } finally {
      expect((await s.stop()).code).toBe(0);
    }
  });

  test("stun-server on an address this host does not have -> exit 1", async () => {
    // 192.0.2.0/24 is TEST-NET-1: never assigned here, so bind fails before any packet.
    const r = await p2pd(["stun-server", "--ip", "192.0.2.77", "--port", "0", "--json"]);
    expectFailure(r, "ERR_STUN_BIND");
  });
});
