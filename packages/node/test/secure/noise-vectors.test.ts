import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type CipherState,
  HandshakeState,
  keyPairFromPrivate,
  type NoiseHash,
  type PatternName,
} from "../../src/secure/noise.js";

// Cacophony vectors (github.com/mcginty/snow tests/vectors/cacophony.txt), the subset p2pd uses.
interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_static?: string;
  init_ephemeral: string;
  init_remote_static?: string;
  resp_prologue: string;
  resp_static?: string;
  resp_ephemeral: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}
const file = JSON.parse(
  readFileSync(new URL("../fixtures/noise-cacophony.json", import.meta.url), "utf8"),
) as { source: string; vectors: Vector[] };
const hex = (s: string) => Buffer.from(s, "hex");

describe("Noise against the cacophony test vectors", () => {
  it("the fixture names its source", () => {
    expect(file.source).toMatch(/cacophony/);
    expect(file.vectors.length).toBeGreaterThanOrEqual(5);
  });

  for (const v of file.vectors) {
    it(v.protocol_name, () => {
      const [, pattern, , , hash] = v.protocol_name.split("_") as [
        string,
        PatternName,
        string,
        string,
        NoiseHash,
      ];
      const init = new HandshakeState({
        pattern,
        initiator: true,
        hash,
        prologue: hex(v.init_prologue),
        e: keyPairFromPrivate(hex(v.init_ephemeral)),
        ...(v.init_static ? { s: keyPairFromPrivate(hex(v.init_static)) } : {}),
        ...(v.init_remote_static ? { rs: hex(v.init_remote_static) } : {}),
      });
      const resp = new HandshakeState({
        pattern,
        initiator: false,
        hash,
        prologue: hex(v.resp_prologue),
        e: keyPairFromPrivate(hex(v.resp_ephemeral)),
        ...(v.resp_static ? { s: keyPairFromPrivate(hex(v.resp_static)) } : {}),
      });
      let i = 0;
      // Handshake messages alternate initiator/responder.
      while (!init.complete) {
        const m = v.messages[i++] as Vector["messages"][number];
        const [w, r] = init.writing ? [init, resp] : [resp, init];
        const ct = w.writeMessage(hex(m.payload));
        expect(ct.toString("hex")).toBe(m.ciphertext);
        expect(r.readMessage(ct).toString("hex")).toBe(m.payload);
      }
      expect(resp.complete).toBe(true);
      expect(init.hash.toString("hex")).toBe(v.handshake_hash);
      expect(resp.hash.toString("hex")).toBe(v.handshake_hash);
      const a = init.split();
      const b = resp.split();
      // Transport messages go on alternating where the handshake stopped.
      let fromInit = i % 2 === 0;
      for (const m of v.messages.slice(i)) {
        const [tx, rx]: CipherState[] = fromInit ? [a.send, b.recv] : [b.send, a.recv];
        const ct = (tx as CipherState).encryptWithAd(Buffer.alloc(0), hex(m.payload));
        expect(ct.toString("hex")).toBe(m.ciphertext);
        expect((rx as CipherState).decryptWithAd(Buffer.alloc(0), ct).toString("hex")).toBe(
          m.payload,
        );
        fromInit = !fromInit;
      }
    });
  }
});
