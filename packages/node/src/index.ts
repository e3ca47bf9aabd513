export {
  type AddressEntry,
  formatAddress,
  type NatInfo,
  type NodePublicKeys,
  nodeIdOf,
  type P2PAddress,
  type P2pdFlavor,
  parseAddress,
  tryParseAddress,
} from "./address.js";
export { isAddressForm } from "./address-form.js";
export { type EmbeddedBroker, startBroker } from "./broker.js";
// `p2pd doctor`: what this machine's network allows (reachability, NAT, port mapping, verdict).
export {
  type DoctorClock,
  type DoctorInterface,
  type DoctorOptions,
  type DoctorReport,
  type DoctorServer,
  runDoctor,
} from "./doctor/doctor.js";
export type { PortMapProbe, StunPing } from "./doctor/probes.js";
export type { NtpProbe } from "./doctor/sntp.js";
export {
  type DoctorVerdict,
  doctorVerdict,
  PEER_KINDS,
  type PeerKind,
  type VerdictInput,
} from "./doctor/verdict.js";
export { type OpenedEnvelope, openEnvelope, ReplayGuard, sealEnvelope } from "./envelope.js";
export {
  AddressError,
  type AttemptOutcome,
  ConnectError,
  NODE_ERROR_CODES,
  type NodeErrorCode,
  P2pdNodeError,
  SECURE_ERROR_CODES,
  type SecureErrorCode,
  SIGNAL_ERROR_CODES,
  SignalError,
  type SignalErrorCode,
  type StrategyFailure,
  type TimelineEntry,
} from "./errors.js";
export { deriveKeys, type NodeKeys } from "./keys.js";
export { formatNameRecord, type NameRecord, parseNameRecord } from "./name-record.js";
export { MemoryNaming, type NamingProvider } from "./naming.js";
export { IrcNaming, type IrcNamingOptions } from "./naming-irc.js";
export { type NatTestOptions, natFromResult, stunNatTest } from "./nat-test.js";
export { echo } from "./node/protocol.js";
export {
  type ConnectOptions,
  type ConnectResult,
  type NodeLimits,
  type NodeMessageCb,
  P2PNode,
  type StartNodeOptions,
  type StrategyTiming,
  startNode,
  type TurnServerConfig,
} from "./node.js";
// Python P2PD interop (plaintext): its address format, its test message.
export { isP2pdAddress, toP2pdAddress } from "./p2pd-compat/address.js";
export { P2PD_TEST_MESSAGE, P2PD_TEST_REPLY, p2pdTest } from "./p2pd-compat/protocol.js";
export {
  NODE_MAX_MESSAGE,
  NODE_PIPE_OPTIONS,
  type NodeTransport,
  wrapConnection,
} from "./pipe.js";
export {
  HANDSHAKE_TIMEOUT,
  handshakeTimeoutMs,
  MAX_FRAME_PLAINTEXT,
  type NoiseCipher,
  SecureError,
  type SecureIdentity,
  type SecureOptions,
  type SecurePeer,
  SecureStream,
  type SecureTransportOptions,
  secureIdentity,
  secureStream,
  secureTransport,
} from "./secure/index.js";
export { type CachedChoice, ServerCache, type ServerCacheOptions } from "./servers/cache.js";
export {
  type CheckServersOptions,
  checkServers,
  refreshedList,
  type ServerCheckReport,
  type StunCheck,
  type UrlCheck,
} from "./servers/check.js";
export {
  type ChooseServersOptions,
  type ChosenServers,
  chooseServers,
  type RejectedServer,
} from "./servers/choose.js";
export {
  configPath,
  effectiveIrcServers,
  effectiveServers,
  type ListOverride,
  loadServerConfig,
  parseServerConfig,
  type ServerConfig,
} from "./servers/config.js";
export { type BrokerAttempt, RendezvousError, ServerConfigError } from "./servers/errors.js";
export {
  bundledServers,
  type MqttServerEntry,
  SERVER_LIST_VERSION,
  type ServerLists,
  type StunServerEntry,
  type TurnServerEntry,
  validateServerLists,
} from "./servers/list.js";
export { type MqttProbe, probeMqtt, type StunProbe, StunProber } from "./servers/probe.js";
export { bundledBrokerUrls, peerBrokerUrls, rendezvousOf } from "./servers/rendezvous.js";
export { MqttSignaling, type MqttSignalingOptions, type SignalingTransport } from "./signaling.js";
export { candidates, reachable } from "./strategies/candidates.js";
export { direct } from "./strategies/direct.js";
export { type BuiltinStrategyName, STRATEGY_NAMES } from "./strategies/names.js";
export { DEFAULT_STRATEGIES, StrategyRegistry } from "./strategies/registry.js";
export { reverse } from "./strategies/reverse.js";
export type {
  Candidate,
  ResponderContext,
  SignalMessage,
  Strategy,
  StrategyContext,
  StrategyName,
} from "./strategies/strategy.js";
export { type PunchConfig, tcpPunchStrategy } from "./strategies/tcp-punch.js";
export { turnStrategy } from "./strategies/turn.js";
export { udpPunchStrategy } from "./strategies/udp-punch.js";
// Traversal primitives (TURN client, TCP/UDP punching, reliable UDP, clock sync, the planner).
export { type ClockEstimate, type ClockPing, estimateClockOffset } from "./traversal/clock.js";
export {
  type HostPort,
  TRAVERSAL_ERROR_CODES,
  TraversalError,
  type TraversalErrorCode,
  TurnError,
} from "./traversal/errors.js";
export { type NatLike, type NatTypeName, planStrategies } from "./traversal/plan.js";
export { type ReliableUdpOptions, ReliableUdpStream } from "./traversal/rudp-stream.js";
export { type TcpPunchOptions, tcpPunch } from "./traversal/tcp-punch.js";
export { TurnClient, type TurnClientOptions } from "./traversal/turn-client.js";
export { type BirthdayRole, type UdpPunchOptions, udpPunch } from "./traversal/udp-punch.js";
