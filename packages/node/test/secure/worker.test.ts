import { createHash } from "node:crypto";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { SecureStream } from "../../src/secure/channel.js";
import { alice, bob, CIPHERS, tcpPair, Wire } from "./helpers.js";

const expectBob = { nodeId: bob.nodeId, x25519: bob.x25519.publicKey };
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function collect(s: SecureStream): Promise<Buffer> {
  const got: Buffer[] = [];
  s.on("data", (c: Buffer) => got.push(c));
  await once(s, "end");
  return Buffer.concat(got);
}

describe.each(CIPHERS)("bulk frames through the AEAD worker (%s)", (cipher) => {
  it("8 MiB arrives byte-exact, rekeying every 5 frames", async () => {
    const [c, s] = await tcpPair();
    const rekey = { frames: 5 };
    const offload = process.env.OFF !== "0";
    const a = new SecureStream(c, {
      identity: alice,
      initiator: true,
      expect: expectBob,
      cipher,
      rekey,
      offload,
    });
    const b = new SecureStream(s, { identity: bob, initiator: false, rekey, offload });
    const data = Buffer.alloc(8 << 20);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    const got = collect(b);
    a.end(data);
    expect(sha(await got)).toBe(sha(data));
    expect(b.rekeys.rx).toBeGreaterThan(20);
  });

  it("a flipped bit in a bulk frame: ERR_DECRYPT and nothing after it", async () => {
    const w = new Wire();
    let seen = Number.NEGATIVE_INFINITY;
    const flipAt = 3 * 65537 + 1000; // inside the fourth full frame
    w.ab = (chunk, deliver) => {
      const c = Buffer.from(chunk);
      if (flipAt >= seen && flipAt < seen + c.length)
        c.writeUInt8((c[flipAt - seen] as number) ^ 1, flipAt - seen);
      seen += c.length;
      deliver(c);
    };
    const a = new SecureStream(w.a, {
      identity: alice,
      initiator: true,
      expect: expectBob,
      cipher,
    });
    const b = new SecureStream(w.b, { identity: bob, initiator: false });
    await Promise.all([a.ready, b.ready]);
    seen = 0; // offsets from the first transport byte (the handshake went by unflipped)
    let got = 0;
    b.on("data", (d: Buffer) => {
      got += d.length;
    });
    const err = once(b, "error");
    a.write(Buffer.alloc(16 * 65519, 7));
    const [e] = await err;
    expect((e as { code: string }).code).toBe("ERR_DECRYPT");
    expect(got).toBeLessThanOrEqual(3 * 65519);
  });
});
