import { notYet } from "./not-yet.js";

export const command = notYet(
  "node",
  "run a P2P node that prints its address and serves ECHO",
  "[--stun HOST:PORT] [--mqtt URL] [--turn turn:HOST:PORT --turn-user U --turn-pass P] [--json]",
);
