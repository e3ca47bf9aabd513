import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { CipherState, NoiseCipher } from "../../src/secure/cipher-state.js";
import {
  HandshakeState,
  keyPairFromPrivate,
  type NoiseHash,
  type PatternName,
} from "../../src/secure/noise.js";

// Cacophony vectors (github.com/mcginty/snow tests/vectors/cacophony.txt), the subset p2pd uses:
// ChaChaPoly in test/fixtures, AESGCM in test/secure/fixtures.
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
type Fixture = { source: string; vectors: Vector[] };
const load = (path: string) =>
  JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as Fixture;
const chacha = load("../fixtures/noise-cacophony.json");
const aesgcm = load("./fixtures/noise-cacophony-aesgcm.json");
const hex = (s: string) => Buffer.from(s, "hex");

describe("Noise against the cacophony test vectors", () => {
  it("the fixtures name their source and cover both ciphers, NN, IK and XX", () => {
    for (const f of [chacha, aesgcm]) expect(f.source).toMatch(/cacophony/);
    const names = [...chacha.vectors, ...aesgcm.vectors].map((v) => v.protocol_name);
    for (const cipher of ["ChaChaPoly", "AESGCM"])
      for (const p of ["NN", "IK", "XX"])
        expect(names).toContain(`Noise_${p}_25519_${cipher}_SHA256`);
    expect(aesgcm.vectors.length).toBeGreaterThanOrEqual(6);
  });

  for (const v of [...chacha.vectors, ...aesgcm.vectors]) {
    it(v.protocol_name, () => {
      const [, pattern, , cipher, hash] = v.protocol_name.split("_") as [
        string,
        PatternName,
        string,
        NoiseCipher,
        NoiseHash,
      ];
      const init = new HandshakeState({
        pattern,
        initiator: true,
        hash,
        cipher,
        prologue: hex(v.init_prologue),
        e: keyPairFromPrivate(hex(v.init_ephemeral)),
        ...(v.init_static ? { s: keyPairFromPrivate(hex(v.init_static)) } : {}),
        ...(v.init_remote_static ? { rs: hex(v.init_remote_static) } : {}),
      });
      const resp = new HandshakeState({
        pattern,
        initiator: false,
        hash,
        cipher,
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
