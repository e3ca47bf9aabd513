import { randomInt } from "node:crypto";
import type { Pipe, PipeOptions } from "@p2pd/pipe";
import type { P2pdFlavor } from "../address.js";
import { NODE_PIPE_OPTIONS } from "../pipe.js";

/** P2PD's test message and its node's answer (src/p2pd/node/p2p_protocol.py). */
export const P2PD_TEST_MESSAGE = "long_p2pd_test_string_abcd123";
export const P2PD_TEST_REPLY = "p2pd test string\r\n\r\n";

/** What a v3 dialer sends first (`P2P_CON_ID_EQ <pipe id>\n`); the snapshot sent `ID <pipe id>`. */
const CON_ID_V3 = "P2P_CON_ID_EQ";
const CON_ID_SNAPSHOT = "ID";
const ECHO = "ECHO ";
/** P2PD's pipe ids (rand_plain): letters and digits; we accept up to 64 of them. */
const PIPE_ID = /^[0-9A-Za-z]{1,64}$/;
const ID_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/**
 * A P2PD connection carries raw TCP chunks: P2PD frames nothing (it splits each read at "\n"),
 * so a pipe message is whatever one read returned. Plaintext: P2PD does not encrypt.
 */
export const P2PD_PIPE_OPTIONS = {
  ...NODE_PIPE_OPTIONS,
  framing: "chunk",
} as const satisfies PipeOptions;

/** A pipe id as P2PD makes them: 15 letters and digits. */
export function p2pdPipeId(): string {
  let s = "";
  for (let i = 0; i < 15; i++) s += ID_CHARS[randomInt(ID_CHARS.length)];
  return s;
}

/** The first message a dialer sends, in the far end's format. */
export function conIdMessage(format: P2pdFlavor["format"], pipeId: string): Buffer {
  return Buffer.from(
    format === "v3" ? `${CON_ID_V3} ${pipeId}\n` : `${CON_ID_SNAPSHOT} ${pipeId}`,
    "latin1",
  );
}

/**
 * P2PD's node protocol on a plaintext P2PD connection: each read is split at "\n" as P2PD does;
 * the test message is answered, `P2P_CON_ID_EQ <id>` (or the snapshot's `ID <id>`) names the
 * connection, `ECHO <x>` is answered with x. A read made only of those lines is consumed; any
 * other read goes on to the pipe's users whole.
 */
export function attachP2pdProtocol(
  pipe: Pipe,
  onId: (id: string, pipe: Pipe) => void,
  before?: (data: Buffer, pipe: Pipe) => void,
): () => void {
  return pipe.intercept((data) => {
    before?.(data, pipe);
    let consumed = true;
    for (const raw of data.toString("latin1").split("\n")) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") continue;
      if (line === P2PD_TEST_MESSAGE) {
        pipe.send(Buffer.from(P2PD_TEST_REPLY, "latin1")).catch(() => {});
      } else if (line.startsWith(ECHO)) {
        pipe.send(Buffer.from(line.slice(ECHO.length), "latin1")).catch(() => {});
      } else {
        const [verb, id, ...rest] = line.split(" ");
        if (
          (verb === CON_ID_V3 || verb === CON_ID_SNAPSHOT) &&
          id &&
          !rest.length &&
          PIPE_ID.test(id)
        )
          onId(id, pipe);
        else consumed = false;
      }
    }
    return consumed;
  });
}

/**
 * P2PD's own connectivity test over a P2PD connection: sends the test message, resolves with
 * what came back once it holds the whole answer (P2PD may split or join reads). Rejects on timeout.
 */
export async function p2pdTest(
  pipe: Pipe,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(opts.timeoutMs ?? 5000),
    ...(opts.signal ? [opts.signal] : []),
  ]);
  const first = pipe.recv({ signal });
  await pipe.send(Buffer.from(P2PD_TEST_MESSAGE, "latin1"), undefined, { signal });
  let got = (await first).toString("latin1");
  while (!got.includes(P2PD_TEST_REPLY)) got += (await pipe.recv({ signal })).toString("latin1");
  return got;
}
