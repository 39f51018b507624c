// Which instance names den accepts: Lima's identifier rule, plus a length limit that keeps the sockets
// inside the instance folder under the unix socket path limit.
import { join } from "node:path";
import { DenError } from "../errors.ts";
import { LongestSock } from "./filenames.ts";

export interface InstanceNameOptions {
  denHome: string;
  /** Node's platform name; darwin allows 104 bytes per socket path, others 108. Defaults to this host. */
  platform?: string;
}

const NamePattern = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const MaxNameLength = 76;

/** Unix socket path limit including the terminating NUL (`sizeof(sun_path)`). */
export function unixPathMax(platform: string): number {
  return platform === "darwin" ? 104 : 108;
}

/** Throws DenError("INSTANCE_NAME_INVALID") unless `name` can name an instance under `denHome`. */
export function validateInstanceName(name: string, options: InstanceNameOptions): void {
  const fail = (reason: string, hint: string): never => {
    throw new DenError("INSTANCE_NAME_INVALID", `Invalid instance name "${name}": ${reason}`, { hint });
  };
  if (name === "") fail("must not be empty", 'use letters and digits, e.g. "default" or "dev-1"');
  if (!NamePattern.test(name)) {
    fail("use letters and digits, separated by single \".\", \"_\" or \"-\"", 'e.g. "default", "ubuntu-24.04" or "my_vm"');
  }
  if (name.length > MaxNameLength) fail(`longer than ${MaxNameLength} characters`, "choose a shorter name");
  if (/\.ya?ml$/i.test(name)) {
    fail('must not end with ".yaml" or ".yml"', `to create an instance from a file, pass it as a template: den create ./${name}`);
  }
  const limit = unixPathMax(options.platform ?? process.platform);
  const socket = join(options.denHome, name, LongestSock);
  const length = Buffer.byteLength(socket);
  if (length >= limit) {
    fail(
      `the socket path "${socket}" would be ${length} bytes, over the limit of ${limit - 1}`,
      "choose a shorter name, or set DEN_HOME to a shorter folder",
    );
  }
}
