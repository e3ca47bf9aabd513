import type { CipherState } from "./cipher-state.js";

/*
 * Implicit, in-step rekey (Noise §11.3 with REKEY(k) of §4.2): see the wire format in channel.ts.
 * Defaults: one key carries at most REKEY_FRAMES frames or REKEY_BYTES bytes, so a leaked
 * transport key opens little of the traffic before it; a rekey costs one 32-byte cipher call.
 */
/** Each direction rekeys after this many transport frames... */
export const REKEY_FRAMES = 10_000;
/** ...or once this many ciphertext bytes went under one key, whichever comes first. */
export const REKEY_BYTES = 256 * 1024 * 1024;

/** When a direction's key is replaced: after `frames` frames or `bytes` ciphertext bytes. */
export interface RekeyThresholds {
  frames?: number;
  bytes?: number;
}

/** Counts one direction's frames and bytes under its current key; REKEY when one runs out. */
export class RekeyCounter {
  frames = 0;
  bytes = 0;
  /** Rekeys so far. */
  count = 0;
  readonly #maxFrames: number;
  readonly #maxBytes: number;
  constructor(t: RekeyThresholds | undefined) {
    this.#maxFrames = Math.max(1, t?.frames ?? REKEY_FRAMES);
    this.#maxBytes = Math.max(1, t?.bytes ?? REKEY_BYTES);
  }
  /** After a frame of `len` bytes (ciphertext, tag included) went under `cs`'s key. */
  after(cs: CipherState, len: number): void {
    this.frames++;
    this.bytes += len;
    if (this.frames >= this.#maxFrames || this.bytes >= this.#maxBytes) {
      cs.rekey();
      this.frames = 0;
      this.bytes = 0;
      this.count++;
    }
  }
}
