/** Base error of @p2pd/netifaces: every failure carries a stable `code`. */
export class P2pdNetError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "P2pdNetError";
    this.code = code;
  }
}
