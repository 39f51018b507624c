// Tests of refusals look at the DenError itself (code, message, hint). Another error, or none, fails the test with
// that error rather than with a confusing "undefined has no property code".
import { DenError } from "../../lib/errors.ts";

/** The DenError that `run` throws. */
export function caughtDenError(run: () => unknown): DenError {
  try {
    run();
  } catch (error) {
    if (error instanceof DenError) return error;
    throw error;
  }
  throw new Error("expected a DenError, but nothing was thrown");
}

/** The DenError that `promise` rejects with. */
export async function rejectedDenError(promise: Promise<unknown>): Promise<DenError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DenError) return error;
    throw error;
  }
  throw new Error("expected a DenError, but the promise resolved");
}
