import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  ATTR,
  getExternalAddress,
  getMappedAddress,
  longTermKey,
  METHOD,
  StunClient,
  StunMessage,
  StunServer,
  verifyIntegrity,
} from "../src/index.js";
import { type Coturn, hasBinary, rfc5780Loopback, startCoturn } from "./helpers.js";

const run = promisify(execFile);
const haveCoturn = hasBinary("turnserver") && hasBinary("turnutils_stunclient");
if (!haveCoturn)
  console.warn("coturn (turnserver, turnutils_*) not installed: skipping interop tests");

describe.skipIf(!haveCoturn)("our client against coturn", () => {
  let coturn: Coturn;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "stun-coturn-"));
    coturn = await startCoturn(["127.0.0.1", "127.0.0.2"], dir);
  }, 30_000);
  afterAll(async () => {
    await coturn?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("UDP binding: mapped address, RFC 5780 OTHER-ADDRESS and RESPONSE-ORIGIN", async () => {
    const c = await StunClient.udp({ localAddress: "127.0.0.1" });
    try {
      const r = await c.binding(
        { host: "127.0.0.1", port: coturn.port },
        { signal: AbortSignal.timeout(5000) },
      );
      expect(r.mapped).toEqual(c.local());
      expect(r.otherAddress).toEqual({ host: "127.0.0.2", port: coturn.altPort, family: 4 });
      expect(r.responseOrigin).toEqual({ host: "127.0.0.1", port: coturn.port, family: 4 });
    } finally {
      c.close();
    }
  });

  test("UDP CHANGE-REQUEST (ip+port, port only) is answered from the alternate address", async () => {
    const c = await StunClient.udp({ localAddress: "127.0.0.1" });
    try {
      const server = { host: "127.0.0.1", port: coturn.port };
      const both = await c.binding(server, { changeIp: true, changePort: true });
      expect(both.from).toEqual({ host: "127.0.0.2", port: coturn.altPort, family: 4 });
      const port = await c.binding(server, { changePort: true });
      expect(port.from).toEqual({ host: "127.0.0.1", port: coturn.altPort, family: 4 });
      expect(both.mapped).toEqual(c.local());
    } finally {
      c.close();
    }
  });

  test("TCP binding (plain STUN framing)", async () => {
    const r = await getMappedAddress({ host: "127.0.0.1", port: coturn.port }, { protocol: "tcp" });
    expect(r.protocol).toBe("tcp");
    expect(r.mapped).toEqual(r.local);
  });

  test("agreement across coturn and our own server", async () => {
    const ours = await new StunServer({ ips: ["127.0.0.1"], port: 0, protocols: ["udp"] }).listen();
    try {
      const r = await getExternalAddress([{ host: "127.0.0.1", port: coturn.port }, ours.primary], {
        localAddress: "127.0.0.1",
        minAgree: 2,
      });
      expect(r.ip).toBe("127.0.0.1");
      expect(r.agreed).toHaveLength(2);
      expect(r.disagreed).toHaveLength(0);
    } finally {
      await ours.close();
    }
  });
});

describe.skipIf(!haveCoturn)("coturn's clients against our server", () => {
  let server: StunServer;
  beforeAll(async () => {
    server = await rfc5780Loopback();
  });
  afterAll(async () => {
    await server?.close();
  });

  test("turnutils_stunclient -f reads reflexive, origin and other addresses", async () => {
    const { stdout } = await run(
      "turnutils_stunclient",
      ["-f", "-p", String(server.primary.port), "127.0.0.1"],
      {
        timeout: 20_000,
      },
    );
    expect(stdout).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/);
    expect(stdout).toContain(`Response origin: : 127.0.0.1:${server.primary.port}`);
    expect(stdout).toContain(`Other addr: : 127.0.0.2:${server.other?.port}`);
    // Response 2 and 3 are CHANGE-REQUEST answers, sent from the alternate address.
    expect(stdout).toContain(`Response origin: : 127.0.0.2:${server.other?.port}`);
  });

  test("turnutils_natdiscovery -m -f (with and without 1500-byte PADDING) finds no NAT on loopback", async () => {
    for (const extra of [[], ["-P"]]) {
      const { stdout } = await run(
        "turnutils_natdiscovery",
        ["-m", "-f", ...extra, "-p", String(server.primary.port), "127.0.0.1"],
        { timeout: 30_000 },
      );
      expect(stdout).toContain("NAT with Endpoint Independent Mapping!");
      expect(stdout).toContain("NAT with Endpoint Independent Filtering!");
      expect(stdout).toContain("No ALG: Mapped == XOR-Mapped");
    }
  });
});

// The codec is what a TURN client builds on: long-term credentials and the TURN attributes against coturn.
describe.skipIf(!haveCoturn)("TURN Allocate with long-term credentials against coturn", () => {
  let coturn: Coturn;
  let dir: string;
  const realm = "p2pd.test";
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "stun-turn-"));
    coturn = await startCoturn(["127.0.0.1"], dir, [
      "--lt-cred-mech",
      "--user=alice:wonderland",
      `--realm=${realm}`,
      "--relay-ip=127.0.0.1",
      "--min-port=40000",
      "--max-port=60000",
      "--allow-loopback-peers",
      "--no-tcp-relay",
    ]);
  }, 30_000);
  afterAll(async () => {
    await coturn?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("401 with REALM/NONCE, then a signed Allocate gets XOR-RELAYED-ADDRESS and LIFETIME", async () => {
    const c = await StunClient.udp({ localAddress: "127.0.0.1" });
    const server = { host: "127.0.0.1", port: coturn.port };
    try {
      const first = await c.request(server, {
        message: new StunMessage({ method: METHOD.ALLOCATE }).addRequestedTransport(17),
      });
      expect(first.message.cls).toBe("error");
      expect(first.message.getErrorCode()?.code).toBe(401);
      expect(first.message.getString(ATTR.REALM)).toBe(realm);
      const nonce = first.message.getString(ATTR.NONCE) ?? "";
      expect(nonce.length).toBeGreaterThan(0);

      const key = longTermKey("alice", realm, "wonderland");
      const alloc = new StunMessage({ method: METHOD.ALLOCATE })
        .addRequestedTransport(17)
        .addString(ATTR.USERNAME, "alice")
        .addString(ATTR.REALM, realm)
        .addString(ATTR.NONCE, nonce);
      const ok = await c.request(server, { message: alloc, integrityKey: key });
      expect(ok.message.cls).toBe("success");
      expect(verifyIntegrity(ok.raw, key)).toBe(true);
      expect(ok.message.getAddress(ATTR.XOR_RELAYED_ADDRESS)?.host).toBe("127.0.0.1");
      expect(ok.message.getAddress(ATTR.XOR_MAPPED_ADDRESS)).toEqual(c.local());
      expect(ok.message.getUint32(ATTR.LIFETIME)).toBeGreaterThan(0);

      // CreatePermission with XOR-PEER-ADDRESS, then a wrong password is refused.
      const perm = new StunMessage({ method: METHOD.CREATE_PERMISSION })
        .addAddress(ATTR.XOR_PEER_ADDRESS, { host: "127.0.0.1", port: 0 })
        .addString(ATTR.USERNAME, "alice")
        .addString(ATTR.REALM, realm)
        .addString(ATTR.NONCE, nonce);
      const permitted = await c.request(server, { message: perm, integrityKey: key });
      expect(permitted.message.cls).toBe("success");
      const bad = new StunMessage({ method: METHOD.REFRESH })
        .addUint32(ATTR.LIFETIME, 0)
        .addString(ATTR.USERNAME, "alice")
        .addString(ATTR.REALM, realm)
        .addString(ATTR.NONCE, nonce);
      const refused = await c.request(server, {
        message: bad,
        integrityKey: longTermKey("alice", realm, "nope"),
      });
      expect(refused.message.cls).toBe("error");
      expect(refused.message.getErrorCode()?.code).toBe(401);
    } finally {
      c.close();
    }
  });
});
