export const PACKAGE = "@p2pd/nat";
// Port mapping (UPnP IGD, NAT-PMP, PCP) lives in ./portmap; keep this line.
export * from "./portmap/index.js";
