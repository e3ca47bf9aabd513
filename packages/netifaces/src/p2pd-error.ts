/**
 * The one error shape of every p2pd package: `code` (a stable `ERR_...` string from the
 * package's exported list), a one-line `message`, `name` (the concrete class name) and `cause`.
 * @p2pd/stun and @p2pd/ircdns cannot import this class (they have no @p2pd dependency), so their
 * errors keep the same shape by convention; `isP2pdError` is duck-typed so it accepts them too.
 */
export class P2pdError<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    // Subclasses set their name again: bundlers may rename classes, the name must not change.
    this.name = new.target.name;
    this.code = code;
  }
}

/** The constructor of a package's base error: `new X(code, message, options?)`. */
export type P2pdErrorClass<C extends string> = new (
  code: C,
  message: string,
  options?: ErrorOptions,
) => P2pdError<C>;

/**
 * A package's base error class: a P2pdError whose `code` is one of `C`, named `name` (a bundler
 * may rename the class, the name must not change):
 * `export class PipeError extends errorClass<PipeErrorCode>("PipeError") {}`.
 */
export function errorClass<C extends string>(name: string): P2pdErrorClass<C> {
  return class extends P2pdError<C> {
    constructor(code: C, message: string, options?: ErrorOptions) {
      super(code, message, options);
      this.name = name;
    }
  };
}

/**
 * An error of `Base` with one fixed `code`, named `name`: `new X(message, options?)`.
 * `export class TimeoutError extends codedError(MyError, "ERR_MY_TIMEOUT", "TimeoutError") {}`.
 */
export function codedError<C extends string, E extends P2pdError<C>>(
  Base: new (code: C, message: string, options?: ErrorOptions) => E,
  code: NoInfer<C>,
  name: string,
): new (
  message: string,
  options?: ErrorOptions,
) => E {
  const B = Base as unknown as P2pdErrorClass<C>;
  const Coded = class extends B {
    constructor(message: string, options?: ErrorOptions) {
      super(code, message, options);
      this.name = name;
    }
  };
  return Coded as unknown as new (
    message: string,
    options?: ErrorOptions,
  ) => E;
}

/** What every p2pd error code looks like. */
export const ERROR_CODE_PATTERN = /^ERR_[A-Z0-9_]+$/;

/**
 * True when `e` has the p2pd error shape (an Error whose `code` is `ERR_...` and whose `name` is
 * its own class name, not a built-in one), optionally with the given code. Node's own `ERR_...`
 * errors (named TypeError, RangeError, ...) do not pass.
 */
export function isP2pdError<C extends string = string>(e: unknown, code?: C): e is P2pdError<C> {
  if (!(e instanceof Error)) return false;
  const c = (e as { code?: unknown }).code;
  if (typeof c !== "string" || !ERROR_CODE_PATTERN.test(c)) return false;
  if (BUILTIN_NAMES.has(e.name)) return false;
  return code === undefined || c === code;
}

const BUILTIN_NAMES = new Set([
  "Error",
  "TypeError",
  "RangeError",
  "SyntaxError",
  "ReferenceError",
  "EvalError",
  "URIError",
  "AggregateError",
  "AbortError",
  "TimeoutError",
]);
