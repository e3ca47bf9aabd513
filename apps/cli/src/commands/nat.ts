import { notYet } from "./not-yet.js";

export const command = notYet(
  "nat",
  "detect the NAT type and port-allocation delta",
  "[--stun HOST:PORT ...] [--json]",
);
