// The meta-package: every @p2pd package under one import, each as a namespace so names never clash.
export * as ircdns from "@p2pd/ircdns";
export * as nat from "@p2pd/nat";
export * as netifaces from "@p2pd/netifaces";
export * as node from "@p2pd/node";
export * as pipe from "@p2pd/pipe";
export * as stun from "@p2pd/stun";
// The localhost REST API (server, OpenAPI, typed client).
export * as rest from "./rest/index.js";
export { P2pdClient, P2pdClientError } from "./rest/index.js";
