import { RestError } from "./errors.js";
import { HTTP_STATUS_BY_CODE, httpStatusFor } from "./status.js";

/**
 * The HTTP status of any error the API answers with: the one place that decides it. A RestError
 * carries its own; anything else by its `code` (httpStatusFor's table), and a code the table does
 * not know gets `fallback` (502 where a peer or the network failed, 500 for our own bugs).
 */
export function statusFor(err: unknown, fallback = 500): number {
  if (err instanceof RestError) return err.status;
  const code = (err as { code?: unknown } | null | undefined)?.code;
  const known = typeof code === "string" && Object.hasOwn(HTTP_STATUS_BY_CODE, code);
  return known ? httpStatusFor(err) : fallback;
}

/** Any failure as the API's error: its own code when it has one, its status from `statusFor`. */
export function asRestError(
  err: unknown,
  fallbackCode = "ERR_INTERNAL",
  fallback = 500,
): RestError<string> {
  if (err instanceof RestError) return err;
  const code = (err as { code?: unknown } | null | undefined)?.code;
  const message = (err as Error | undefined)?.message ?? String(err);
  return new RestError(
    typeof code === "string" && code.startsWith("ERR_") ? code : fallbackCode,
    statusFor(err, fallback),
    message,
    { cause: err },
  );
}
