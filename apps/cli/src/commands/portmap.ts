import { notYet } from "./not-yet.js";

export const command = notYet(
  "portmap",
  "open, remove or list port mappings (UPnP IGD, NAT-PMP, PCP)",
  "add|remove|list [PORT] [--proto tcp|udp] [--lifetime S] [--json]",
);
