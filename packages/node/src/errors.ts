/** Base error of @p2pd/node: every failure carries a stable `code`. */
export class P2pdNodeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "P2pdNodeError";
    this.code = code;
  }
}

/** A P2P address that does not parse or does not validate. */
export class AddressError extends P2pdNodeError {
  constructor(message: string) {
    super("ERR_BAD_ADDR", message);
    this.name = "AddressError";
  }
}

/** A signaling envelope that is malformed, forged, replayed or not for us. */
export class SignalError extends P2pdNodeError {
  constructor(code: `ERR_SIGNAL_${string}`, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "SignalError";
  }
}

/** One strategy's failure inside a ConnectError. */
export interface StrategyFailure {
  strategy: string;
  code: string;
  message: string;
  ms: number;
}

/** Every strategy failed (or none could be tried). `failures` says why, one entry per strategy. */
export class ConnectError extends P2pdNodeError {
  readonly failures: StrategyFailure[];
  constructor(message: string, failures: StrategyFailure[], code = "ERR_CONNECT") {
    super(code, message);
    this.name = "ConnectError";
    this.failures = failures;
  }
}

/** Maps anything thrown to a code for reports. */
export function codeOf(err: unknown): string {
  if (err && typeof err === "object" && "code" in err && typeof err.code === "string")
    return err.code;
  if (err instanceof Error && err.name === "AbortError") return "ABORT_ERR";
  if (err instanceof Error && err.name === "TimeoutError") return "ERR_TIMEOUT";
  return "ERR_UNKNOWN";
}
