/** RFC 5389 magic cookie; its absence marks an RFC 3489 ("classic") message. */
export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_SIZE = 20;
/** FINGERPRINT XOR constant ("STUN"). */
export const FINGERPRINT_XOR = 0x5354554e;

export const METHOD = {
  BINDING: 0x001,
  // TURN (RFC 8656)
  ALLOCATE: 0x003,
  REFRESH: 0x004,
  SEND: 0x006,
  DATA: 0x007,
  CREATE_PERMISSION: 0x008,
  CHANNEL_BIND: 0x009,
} as const;

export type StunClass = "request" | "indication" | "success" | "error";

export const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  RESPONSE_ADDRESS: 0x0002, // RFC 3489
  CHANGE_REQUEST: 0x0003, // RFC 3489 / 5780
  SOURCE_ADDRESS: 0x0004, // RFC 3489
  CHANGED_ADDRESS: 0x0005, // RFC 3489
  USERNAME: 0x0006,
  PASSWORD: 0x0007, // RFC 3489
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  REFLECTED_FROM: 0x000b, // RFC 3489
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  EVEN_PORT: 0x0018,
  REQUESTED_TRANSPORT: 0x0019,
  DONT_FRAGMENT: 0x001a,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  PASSWORD_ALGORITHM: 0x001d,
  USERHASH: 0x001e,
  XOR_MAPPED_ADDRESS: 0x0020,
  RESERVATION_TOKEN: 0x0022,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  PADDING: 0x0026, // RFC 5780
  RESPONSE_PORT: 0x0027, // RFC 5780
  PASSWORD_ALGORITHMS: 0x8002,
  ALTERNATE_DOMAIN: 0x8003,
  SOFTWARE: 0x8022,
  ALTERNATE_SERVER: 0x8023,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
  RESPONSE_ORIGIN: 0x802b, // RFC 5780
  OTHER_ADDRESS: 0x802c, // RFC 5780
} as const;

/** Attributes whose address is XORed with the cookie (and transaction id for IPv6). */
export const XOR_ADDRESS_ATTRS: ReadonlySet<number> = new Set([
  ATTR.XOR_MAPPED_ADDRESS,
  ATTR.XOR_PEER_ADDRESS,
  ATTR.XOR_RELAYED_ADDRESS,
  0x8020, // pre-RFC XOR-MAPPED-ADDRESS still sent by some old servers
]);

/** Attributes carrying a plain (non-XOR) address. */
export const PLAIN_ADDRESS_ATTRS: ReadonlySet<number> = new Set([
  ATTR.MAPPED_ADDRESS,
  ATTR.RESPONSE_ADDRESS,
  ATTR.SOURCE_ADDRESS,
  ATTR.CHANGED_ADDRESS,
  ATTR.REFLECTED_FROM,
  ATTR.ALTERNATE_SERVER,
  ATTR.RESPONSE_ORIGIN,
  ATTR.OTHER_ADDRESS,
]);

/** Comprehension-required attributes a Binding server understands; others draw a 420. */
export const KNOWN_REQUIRED_ATTRS: ReadonlySet<number> = new Set(
  Object.values(ATTR).filter((t) => t < 0x8000),
);

/** Attributes that may legitimately repeat (TURN CreatePermission carries several peers). */
export const REPEATABLE_ATTRS: ReadonlySet<number> = new Set([ATTR.XOR_PEER_ADDRESS]);

export const CHANGE_IP = 0x04;
export const CHANGE_PORT = 0x02;

export const DEFAULT_PORT = 3478;
