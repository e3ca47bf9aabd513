import { expect, test } from "vitest";
import { parseAddress } from "../../src/address.js";
import { ReplayGuard } from "../../src/envelope.js";
import { deriveKeys } from "../../src/keys.js";
import { Identity, seedBytes } from "../../src/node/identity.js";
import { SignalDispatch } from "../../src/node/signal-dispatch.js";
import type { SignalingTransport } from "../../src/signaling.js";

const node = (seed: string) => {
  const id = new Identity(deriveKeys(seedBytes(seed)), [{ name: "lo", ipv4: "127.0.0.1" }]);
  id.port = 4000;
  return id;
};

/** A transport whose broker is unreachable: every publish fails (pure bookkeeping under test). */
const unreachable: SignalingTransport = {
  indexes: [0],
  start: async () => {},
  publish: async () => {
    throw Object.assign(new Error("broker unreachable"), { code: "ERR_SIGNAL_SEND" });
  },
  onMessage: () => {},
  close: async () => {},
};

test("request: a send that throws leaves no reply waiter behind (the signal never aborts)", async () => {
  const dispatch = new SignalDispatch({
    identity: node("dispatch-a"),
    guard: new ReplayGuard(),
    closing: new AbortController().signal,
    log: () => {},
    answering: () => undefined,
    wrap: () => {
      throw new Error("unused");
    },
    adopt: () => {},
  });
  dispatch.attach(unreachable);
  const peer = parseAddress(node("dispatch-b").text);
  const never = new AbortController().signal;
  await expect(dispatch.request(peer, "PING", "PONG", "p1", never)).rejects.toThrow(
    "broker unreachable",
  );
  await expect(dispatch.request(peer, "GET_ADDR", "ADDR", "p2", never)).rejects.toThrow(
    "broker unreachable",
  );
  expect(dispatch.waiting).toBe(0);
});
