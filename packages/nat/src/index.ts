export const PACKAGE = "@p2pd/nat";
