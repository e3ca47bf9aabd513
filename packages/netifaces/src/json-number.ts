/**
 * A JSON field as a number: numbers and numeric strings convert, anything else is NaN. `Number()`
 * alone throws a TypeError on objects whose `toString`/`valueOf` are not functions
 * (`{"toString": ""}`), which would escape a decoder as an untyped error.
 */
export function jsonNumber(v: unknown): number {
  return typeof v === "number" || typeof v === "string" ? Number(v) : Number.NaN;
}
