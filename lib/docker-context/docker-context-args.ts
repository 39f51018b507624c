// The `docker context` command lines den runs after `den start` (pure: names in, argv out). A docker or docker-rootful
// instance forwards the guest's socket to `<instance>/sock/docker.sock`; a context named `den-NAME` pointing there
// lets `docker --context den-NAME …` (or `docker context use den-NAME`, the user's own choice) reach it.
import { basename } from "node:path";
import type { FilledPortForward } from "../config/schema.ts";

/** The file name of the forwarded socket a docker context is made for (Lima's docker templates' convention). */
export const DockerSocketName = "docker.sock";

/** `den-NAME`: den's contexts are recognisable and never clash with the user's own (Lima's message says `lima-NAME`). */
export function dockerContextName(instance: string): string {
  return `den-${instance}`;
}

/** The host socket of the first forward whose host socket is named `docker.sock`, if any. */
export function dockerHostSocket(portForwards: readonly Pick<FilledPortForward, "hostSocket" | "ignore" | "reverse">[]): string | undefined {
  return portForwards.find((rule) => !rule.ignore && !rule.reverse && rule.hostSocket && basename(rule.hostSocket) === DockerSocketName)?.hostSocket ?? undefined;
}

/** `unix:///path`, the form docker prints back in `context inspect`. */
export function dockerHost(socket: string): string {
  return `unix://${socket}`;
}

/**
 * The value of `--docker`: docker reads it as comma-separated `key=value` fields, so a path holding a comma is
 * written as a quoted field. Docker keeps a doubled quote as two quotes, so a path with a quote (or a line break)
 * has no faithful spelling: socketPathProblem() refuses it first.
 */
export function dockerEndpointOption(socket: string): string {
  const field = `host=${dockerHost(socket)}`;
  return field.includes(",") ? `"${field}"` : field;
}

/** Why `socket` cannot be written into a docker context, or undefined. */
export function socketPathProblem(socket: string): string | undefined {
  return /["\r\n]/.test(socket) ? "docker cannot store a socket path holding a quote or a line break" : undefined;
}

/** Prints the context's docker host, or fails (exit 1) when there is no such context. */
export function inspectContextArgv(docker: string, context: string): string[] {
  return [docker, "context", "inspect", "--format", "{{.Endpoints.docker.Host}}", context];
}

export function createContextArgv(docker: string, options: { context: string; instance: string; socket: string }): string[] {
  return [docker, "context", "create", "--description", `den instance ${options.instance}`, "--docker", dockerEndpointOption(options.socket), options.context];
}

export function updateContextArgv(docker: string, options: { context: string; socket: string }): string[] {
  return [docker, "context", "update", "--docker", dockerEndpointOption(options.socket), options.context];
}
