export const PACKAGE = "@p2pd/node";
