import { notYet } from "./not-yet.js";

export const command = notYet(
  "interfaces",
  "list network interfaces, the default one, gateways and routes",
  "[--json]",
);
