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
