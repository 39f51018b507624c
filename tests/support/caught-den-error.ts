// Tests of refusals look at the DenError itself (code, message, hint). Another error, or none, fails the test with
// that error rather than with a confusing "undefined has no property code".
import { DenError } from "../../lib/errors.ts";

/** A class of error, subclasses included; abstract so that any constructor signature fits. */
export type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

/** The error of class `type` that `run` throws. */
export function caughtError<E extends Error>(run: () => unknown, type: ErrorClass<E>): E {
  try {
    run();
  } catch (error) {
    if (error instanceof type) return error;
    throw error;
  }
  throw new Error(`expected a ${type.name}, but nothing was thrown`);
}

/** The DenError that `run` throws. */
export function caughtDenError(run: () => unknown): DenError {
  return caughtError(run, DenError);
}

/** The error of class `type` that `promise` rejects with. */
export async function rejectedError<E extends Error>(promise: Promise<unknown>, type: ErrorClass<E>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof type) return error;
    throw error;
  }
  throw new Error(`expected a ${type.name}, but the promise resolved`);
}

/** The DenError that `promise` rejects with. */
export function rejectedDenError(promise: Promise<unknown>): Promise<DenError> {
  return rejectedError(promise, DenError);
}
