export const PACKAGE = "@p2pd/ircdns";
