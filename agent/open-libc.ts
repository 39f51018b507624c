// The guest's C library through bun:ffi, for the few calls Bun has no API for (AF_VSOCK sockets, clock_settime).
// Guests run glibc or musl (Alpine); both name their errno accessor __errno_location.
import { dlopen, type FFIFunction, type Library } from "bun:ffi";
import { DenError } from "../lib/errors.ts";

/** Loads `symbols` from glibc, else from musl; `purpose` completes "Cannot …" in the error when neither loads. */
export function openLibc<Fns extends Record<string, FFIFunction>>(symbols: Fns, purpose: string): Library<Fns> {
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  let lastError: unknown;
  for (const name of ["libc.so.6", `libc.musl-${arch}.so.1`]) {
    try {
      return dlopen(name, symbols);
    } catch (error) {
      lastError = error;
    }
  }
  throw new DenError("IO", `Cannot ${purpose}: libc cannot be loaded`, { cause: lastError, hint: "the guest needs glibc or musl" });
}
