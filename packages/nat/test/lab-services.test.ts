import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Lab, labAvailable, startLab } from "../../../labs/natlab/lab.js";

// The lab's public-side services, used from hosts behind two different NATs: coturn's TURN (long-term
// credentials natlab/natlab) and the MQTT broker. Other packages' tests (node) build on both.
const why = labAvailable();
const stunDist = fileURLToPath(new URL("../../stun/dist/index.js", import.meta.url));

describe.skipIf(why)(`natlab public services${why ? ` (skipped: ${why})` : ""}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab(["a=port-restricted", "b=symmetric"], {
      prefix: "nv-",
      state: "/tmp/natlab-nv",
      p2pdStun: false,
    });
  }, 120_000);
  afterAll(async () => {
    await lab?.stop();
  }, 60_000);

  test("TURN: a host behind a NAT allocates a relay on coturn with the lab's credentials", async () => {
    const { pub, turn } = lab.info;
    const script = `
      import * as s from ${JSON.stringify(stunDist)};
      const c = await s.StunClient.udp();
      const to = ${JSON.stringify({ host: pub.ip4, port: turn.port })};
      const M = s.METHOD, A = s.ATTR;
      const first = await c.request(to, { message: new s.StunMessage({ method: M.ALLOCATE }).addRequestedTransport(17) });
      const nonce = first.message.getString(A.NONCE) ?? "";
      const key = s.longTermKey(${JSON.stringify(turn.user)}, ${JSON.stringify(turn.realm)}, ${JSON.stringify(turn.pass)});
      const alloc = new s.StunMessage({ method: M.ALLOCATE }).addRequestedTransport(17)
        .addString(A.USERNAME, ${JSON.stringify(turn.user)}).addString(A.REALM, ${JSON.stringify(turn.realm)})
        .addString(A.NONCE, nonce);
      const ok = await c.request(to, { message: alloc, integrityKey: key });
      console.log(JSON.stringify({
        first: first.message.getErrorCode()?.code,
        cls: ok.message.cls,
        relayed: ok.message.getAddress(A.XOR_RELAYED_ADDRESS),
        mapped: ok.message.getAddress(A.XOR_MAPPED_ADDRESS),
      }));
      c.close();`;
    const r = await lab.exec("a1", process.execPath, ["--input-type=module", "-e", script]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
    expect(out.first).toBe(401);
    expect(out.cls).toBe("success");
    expect([pub.ip4, pub.ip4Alt]).toContain(out.relayed?.host);
    expect(out.mapped?.host).toBe(lab.host("a1").publicIp4);
  }, 30_000);

  test("MQTT: a message published behind one NAT reaches a subscriber behind another", async () => {
    const url = new URL(lab.info.mqttUrl);
    const topic = `natlab/test/${process.pid}`;
    const sub = lab.exec(
      "b1",
      "mosquitto_sub",
      ["-h", url.hostname, "-p", url.port || "1883", "-t", topic, "-C", "1", "-W", "15"],
      { timeoutMs: 20_000 },
    );
    // Publish until the subscriber (which may still be connecting) has its one message.
    let got: Awaited<typeof sub> | undefined;
    void sub.then((r) => {
      got = r;
    });
    for (let i = 0; i < 50 && !got; i++) {
      const p = await lab.exec("a1", "mosquitto_pub", [
        "-h",
        url.hostname,
        "-p",
        url.port || "1883",
        "-t",
        topic,
        "-m",
        "hello from a1",
      ]);
      expect(p.code, p.stderr).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
    }
    const r = await sub;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("hello from a1");
  }, 30_000);
});
