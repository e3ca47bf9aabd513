import * as stun from "@p2pd/stun";
import { type FakeStun, type FakeStunOptions, fakeStun as start } from "../fixtures/fake-stun.mjs";

export type { FakeStun, FakeStunOptions };

/** A hostile STUN responder on loopback (see fixtures/fake-stun.mjs), on this package's @p2pd/stun. */
export function fakeStun(opts: FakeStunOptions = {}): Promise<FakeStun> {
  return start(stun, opts);
}
