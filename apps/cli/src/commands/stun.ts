import { notYet } from "./not-yet.js";

export const command = notYet(
  "stun",
  "ask a STUN server for this host's mapped address",
  "HOST[:PORT] [--tcp] [--family 4|6] [--json]",
);
