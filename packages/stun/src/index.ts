export const PACKAGE = "@p2pd/stun";
