export const PACKAGE = "@p2pd/pipe";
