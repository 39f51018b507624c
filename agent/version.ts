// What `den-guestagent --version` prints and the WELCOME carries: den's own version, since the agent is built
// and shipped with den and only ever talks to the den that embedded it (the protocol number guards the rest).
import { arch, machine } from "node:os";
import { buildCommit, version } from "../lib/version.ts";

export function agentVersion(): string {
  return `${version} (commit ${buildCommit()})`;
}

/** `uname -m` of the machine the agent runs on. */
export function agentArch(): string {
  try {
    return machine();
  } catch {
    return arch() === "arm64" ? "aarch64" : arch() === "x64" ? "x86_64" : arch();
  }
}
