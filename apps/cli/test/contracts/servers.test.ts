import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { built, cacheDir, contractFile, p2pd } from "./harness.js";

// The CLI contract of `p2pd servers` (issue 14).
contractFile();

describe.skipIf(!built)("p2pd servers (issue 14)", () => {
  test("--json: {stun:[{ip,port,altIp,altPort,family,transport}], mqtt:[{url,ip,port,family}], turn:[{url,ip,port,user,pass}]}", async () => {
    const cfg = join(cacheDir, "servers-contract.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        stun: [
          "127.0.0.1:3478",
          { ip: "127.0.0.2", port: 3478, altIp: "127.0.0.3", altPort: 3479 },
        ],
        mqtt: ["mqtt://127.0.0.1:1883"],
        turn: ["turn:127.0.0.1:3478"],
      }),
    );
    const saved = process.env.P2PD_CONFIG;
    process.env.P2PD_CONFIG = cfg;
    try {
      const r = await p2pd(["servers", "--json"]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe(
        `${JSON.stringify({
          stun: [
            {
              ip: "127.0.0.1",
              port: 3478,
              altIp: null,
              altPort: null,
              family: 4,
              transport: "udp",
            },
            {
              ip: "127.0.0.2",
              port: 3478,
              altIp: "127.0.0.3",
              altPort: 3479,
              family: 4,
              transport: "udp",
            },
          ],
          mqtt: [{ url: "mqtt://127.0.0.1:1883", ip: "127.0.0.1", port: 1883, family: 4 }],
          turn: [
            { url: "turn:127.0.0.1:3478", ip: "127.0.0.1", port: 3478, user: null, pass: null },
          ],
        })}\n`,
      );
      writeFileSync(cfg, '{"mqtt": [{"url": "mqtt://127.0.0.1"}]}');
      const bad = await p2pd(["servers", "--json"]);
      expect(bad.code).toBe(2);
      expect(JSON.parse(bad.out).error).toEqual({
        code: "ERR_BAD_CONFIG",
        message: `${cfg}: mqtt[0].url: want mqtt://HOST:PORT, got "mqtt://127.0.0.1"`,
      });
      expect(bad.err.trimEnd().split("\n")).toHaveLength(1);
    } finally {
      if (saved === undefined) delete process.env.P2PD_CONFIG;
      else process.env.P2PD_CONFIG = saved;
    }
  });
});
