import { Worker } from "node:worker_threads";

/*
 * One AEAD worker per process, started on first use and unref'd (it never keeps the process
 * alive). The main thread assigns every nonce; the worker only runs AEAD(key, nonce, data) and
 * posts the result back, results in the order of the jobs (one worker, one FIFO port).
 */
const SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createCipheriv, createDecipheriv } = require("node:crypto");
const nonce = Buffer.alloc(12);
function one(j, res, xfer) {
  const n = j.n, lo = n >>> 0, hi = Math.floor(n / 0x100000000);
  if (j.be) { nonce.writeUInt32BE(hi, 4); nonce.writeUInt32BE(lo, 8); }
  else { nonce.writeUInt32LE(lo, 4); nonce.writeUInt32LE(hi, 8); }
  const data = Buffer.from(j.buf, 0, j.len);
  try {
    if (j.dec) {
      const d = createDecipheriv(j.alg, j.key, nonce, { authTagLength: 16 });
      d.setAuthTag(data.subarray(j.len - 16));
      const pt = d.update(data.subarray(0, j.len - 16));
      d.final();
      const own = pt.byteOffset === 0 && pt.buffer.byteLength === pt.length;
      const out = own ? pt.buffer : new Uint8Array(pt).buffer;
      res.push({ ok: true, buf: out, len: pt.length });
      xfer.push(out);
    }
  } catch {
    res.push({ ok: false });
  }
}
parentPort.on("message", (m) => {
  const res = [], xfer = [];
  for (const j of m.jobs) one(j, res, xfer);
  parentPort.postMessage({ id: m.id, res }, xfer);
});`;

export interface AeadJob {
  dec: true;
  alg: string;
  be: boolean;
  key: Buffer;
  n: number;
  buf: ArrayBuffer;
  len: number;
}
export type AeadResult = { ok: true; data: Buffer } | { ok: false };

let worker: Worker | undefined;
let nextId = 0;
const waiting = new Map<number, ((r: AeadResult) => void)[]>();

function start(): Worker {
  const w = new Worker(SOURCE, { eval: true });
  w.unref();
  w.on("message", (m: { id: number; res: { ok: boolean; buf?: ArrayBuffer; len?: number }[] }) => {
    const cbs = waiting.get(m.id) ?? [];
    waiting.delete(m.id);
    if (waiting.size === 0) w.unref();
    for (let i = 0; i < m.res.length; i++) {
      const r = m.res[i] as { ok: boolean; buf?: ArrayBuffer; len?: number };
      cbs[i]?.(
        r.ok ? { ok: true, data: Buffer.from(r.buf as ArrayBuffer, 0, r.len) } : { ok: false },
      );
    }
  });
  w.on("error", () => {
    for (const cbs of waiting.values()) for (const cb of cbs) cb({ ok: false });
    waiting.clear();
    worker = undefined;
  });
  return w;
}

/** Runs AEAD jobs off the main thread, one message; each `buf` is transferred. */
export function runAead(jobs: AeadJob[], cbs: ((r: AeadResult) => void)[]): void {
  worker ??= start();
  const id = nextId++;
  waiting.set(id, cbs);
  worker.ref();
  worker.postMessage(
    { id, jobs },
    jobs.map((j) => j.buf),
  );
}
