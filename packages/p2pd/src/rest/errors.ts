/** A REST API failure: a stable `code`, the HTTP status it maps to, and a message. */
export class RestError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = "RestError";
    this.code = code;
    this.status = status;
  }
}

/** Codes from below the API (node, pipe, naming) whose status is not the caller's fallback. */
const FOREIGN: Record<string, number> = {
  ERR_BAD_ADDR: 400,
  ERR_BAD_ADDRESS: 400,
  ERR_FRAME: 400,
  ERR_MSG_TOO_LARGE: 400,
  ERR_NAME_NOT_FOUND: 404,
  ERR_CONNECT_TIMEOUT: 504,
  ERR_TIMEOUT: 504,
};

/**
 * The HTTP status of any error the API answers with: the one place that decides it. A RestError
 * carries its own; anything else is looked up by `code`, else `fallback` (502 where a peer or
 * the network failed, 500 for our own bugs).
 */
export function statusFor(err: unknown, fallback = 500): number {
  if (err instanceof RestError) return err.status;
  const code = (err as { code?: unknown } | undefined)?.code;
  return (typeof code === "string" ? FOREIGN[code] : undefined) ?? fallback;
}

/** Any failure as the API's error: its own code when it has one, its status from `statusFor`. */
export function asRestError(
  err: unknown,
  fallbackCode = "ERR_INTERNAL",
  fallback = 500,
): RestError {
  if (err instanceof RestError) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  const message = (err as Error | undefined)?.message ?? String(err);
  return new RestError(
    typeof code === "string" && code.startsWith("ERR_") ? code : fallbackCode,
    statusFor(err, fallback),
    message,
  );
}
