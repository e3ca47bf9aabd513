export {
  type ClockEstimate,
  type ClockPing,
  estimateClockOffset,
  meetingTime,
  peerClock,
} from "./clock.js";
export {
  type HostPort,
  TRAVERSAL_ERROR_CODES,
  TraversalError,
  type TraversalErrorCode,
  TurnError,
} from "./errors.js";
export { openTcpMapping, type TcpMapping, udpMapping } from "./mapping.js";
export { type MessageDuplex, MessageQueue } from "./message-queue.js";
export {
  type NatClass,
  type NatLike,
  type NatTypeName,
  natClass,
  type PunchRole,
  planStrategies,
  punchRole,
  type StrategyName,
} from "./plan.js";
export { type DeltaLike, predictPorts } from "./predict.js";
export { decodeFrame, encodeFrame, type Frame, FrameType, sessionFromToken } from "./rudp-frame.js";
export {
  type DatagramLink,
  type ReliableUdpOptions,
  ReliableUdpStream,
  turnLink,
  udpSocketLink,
} from "./rudp-stream.js";
export { type TcpPunchOptions, tcpPunch } from "./tcp-punch.js";
export {
  candidatePaceMs,
  clamp,
  keepAliveMs,
  meetingAt,
  meetingLeadMs,
  type PathRtt,
  pathRttMs,
  predictCount,
  probeIntervalMs,
  relayGiveUpMs,
  staggerMs,
  type TimedStrategy,
  tcpAttemptMs,
  tcpMeetingLeadMs,
  tcpPunchWindowMs,
  UNMEASURED_WINDOW_RTT_MS,
  udpPunchWindowMs,
} from "./timing.js";
export { TurnClient, type TurnClientOptions } from "./turn-client.js";
export {
  type ChannelData,
  decodeChannelData,
  encodeChannelData,
  type TurnFrame,
  TurnStreamDecoder,
} from "./turn-framing.js";
export { TurnRelayPipe, type TurnRelayPipeOptions, turnRelayPipe } from "./turn-pipe.js";
export { type BirthdayRole, type UdpPunchOptions, udpPunch } from "./udp-punch.js";
