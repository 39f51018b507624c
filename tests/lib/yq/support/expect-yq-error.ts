// The checks every test of a YQ_EXPR failure makes: the error class, the code and the exact message.
import { expect } from "bun:test";
import type { DenError } from "../../../../lib/errors.ts";
import { caughtDenError } from "../../../support/caught-den-error.ts";

/** Runs `run`, expects it to throw DenError("YQ_EXPR") with `message`, and returns the error for further checks. */
export function expectYqError(run: () => unknown, message: string): DenError {
  const error = caughtDenError(run);
  expect(error.code).toBe("YQ_EXPR");
  expect(error.message).toBe(message);
  return error;
}
