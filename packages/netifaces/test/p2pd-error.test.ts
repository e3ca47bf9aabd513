import { expect, test } from "vitest";
import { codedError, errorClass, isP2pdError, P2pdError } from "../src/index.js";

type DemoCode = "ERR_DEMO_ONE" | "ERR_DEMO_TWO";
class DemoError extends errorClass<DemoCode>("DemoError") {}
class DemoTwoError extends codedError(DemoError, "ERR_DEMO_TWO", "DemoTwoError") {}

test("errorClass: a P2pdError base with the package's codes, its name, message and cause", () => {
  const cause = new Error("below");
  const e = new DemoError("ERR_DEMO_ONE", "one line", { cause });
  expect(e).toBeInstanceOf(DemoError);
  expect(e).toBeInstanceOf(P2pdError);
  expect(e).toBeInstanceOf(Error);
  expect(e).toMatchObject({ name: "DemoError", code: "ERR_DEMO_ONE", message: "one line", cause });
  expect(isP2pdError(e, "ERR_DEMO_ONE")).toBe(true);
});

test("codedError: a subclass with one fixed code, constructed with (message, options)", () => {
  const e = new DemoTwoError("two", { cause: 7 });
  expect(e).toBeInstanceOf(DemoTwoError);
  expect(e).toBeInstanceOf(DemoError);
  expect(e).toMatchObject({ name: "DemoTwoError", code: "ERR_DEMO_TWO", message: "two", cause: 7 });
  expect(String(e)).toBe("DemoTwoError: two");
});

test("the names survive a bundler renaming the classes", () => {
  const Renamed = { X: class extends errorClass<DemoCode>("DemoError") {} }.X;
  const Coded = { Y: class extends codedError(Renamed, "ERR_DEMO_ONE", "DemoOneError") {} }.Y;
  expect(new Renamed("ERR_DEMO_TWO", "m").name).toBe("DemoError");
  expect(new Coded("m").name).toBe("DemoOneError");
});
