// The checks every test of a YQ_EXPR failure makes: the error class, the code and the exact message.
import { expect } from "bun:test";
import { DenError } from "../../../../lib/errors.ts";

/** Runs `run`, expects it to throw DenError("YQ_EXPR") with `message`, and returns the error for further checks. */
export function expectYqError(run: () => unknown, message: string): DenError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DenError);
  const error = caught as DenError;
  expect(error.code).toBe("YQ_EXPR");
  expect(error.message).toBe(message);
  return error;
}
