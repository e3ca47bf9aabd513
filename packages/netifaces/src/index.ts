export {
  Address,
  type AddressJSON,
  type LookupFn,
  type ResolveOptions,
  splitHostPort,
} from "./address.js";
export { buildRoutes, type ExternalIpResolver, localRoutes } from "./build-routes.js";
export { classifyIp, type IpClass, isLoopbackIp, isPrivateIp, isPublicIp } from "./classify.js";
export { type Deadline, deadline } from "./deadline.js";
export type { Endpoint, Family, RouteLike } from "./endpoint.js";
export {
  AbortedError,
  BadAddressError,
  NET_ERROR_CODES,
  type NetErrorCode,
  P2pdNetError,
} from "./errors.js";
export {
  Interface,
  type InterfaceJSON,
  type Stack,
  type StartLocalOptions,
  type StartOptions,
} from "./interface.js";
export {
  type AddressInfo,
  type DefaultRoute,
  defaultRoutes,
  type InterfaceInfo,
  isInternetInterface,
  type ListOptions,
  listInterfaceNames,
  listInterfaces,
} from "./interfaces-list.js";
export {
  explodeIp6,
  formatIp,
  ipFamily,
  isIp,
  isLinkLocal6,
  netmaskToPrefix,
  normalizeIp,
  type ParsedIp,
  parseIp,
  prefixToNetmask,
  tryParseIp,
} from "./ip.js";
export { IPRange, type IPRangeJSON, type IPRangeOptions, toFamily } from "./ip-range.js";
export { type InterfaceKind, interfaceKind } from "./kind.js";
export { type LoadInterfacesOptions, loadInterfaces } from "./load-interfaces.js";
export {
  DELTA_TEXT,
  DeltaType,
  defaultNat,
  NAT_TEXT,
  type NatInfo,
  NatType,
  parseNat,
} from "./nat-info.js";
export {
  codedError,
  errorClass,
  isP2pdError,
  P2pdError,
  type P2pdErrorClass,
} from "./p2pd-error.js";
export {
  BsdProvider,
  parseIfconfig,
  parseNetstatRn,
  parseRouteGetDefault,
} from "./providers/bsd.js";
export type { CommandRunner } from "./providers/exec.js";
export { defaultProvider } from "./providers/index.js";
export { LinuxProvider, parseProcIpv6Route, parseProcNetRoute } from "./providers/linux.js";
export type { OsAddresses } from "./providers/node-os.js";
export type {
  DefaultGateway,
  LinkAddress,
  LinkInfo,
  NetInfoProvider,
  RouteEntry,
} from "./providers/types.js";
export {
  parseNetAdapterJson,
  parseNetRouteJson,
  parseRoutePrint,
  type RoutePrint,
  WindowsProvider,
} from "./providers/windows.js";
export { type BindIps, Route, type RouteInit, type RouteJSON } from "./route.js";
export { RoutePool } from "./route-pool.js";
