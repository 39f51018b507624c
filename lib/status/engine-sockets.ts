// The container engines' sockets on the host, for `den list --json` (field `sockets`, den's own): each forwarded
// socket (a `portForwards` entry with a `hostSocket`), keyed by the engine it belongs to when its path says so
// (docker, podman, containerd, buildkit), else by the socket's file name. The paths are those of the configuration:
// the sockets exist while the instance runs.
import { basename } from "node:path";
import type { FilledPortForward } from "../config/schema.ts";

const Engines: readonly { engine: string; pattern: RegExp }[] = [
  { engine: "docker", pattern: /(^|\/)docker\.sock$/ },
  { engine: "podman", pattern: /(^|\/)podman(\/podman)?\.sock$/ },
  { engine: "buildkit", pattern: /(^|\/)buildkit(d)?(\/buildkitd)?\.sock$/ },
  { engine: "containerd", pattern: /(^|\/)containerd(\/containerd)?\.sock$/ },
];

/** Which engine a socket path belongs to, if recognisable. */
export function engineOfSocket(path: string): string | undefined {
  return Engines.find(({ pattern }) => pattern.test(path))?.engine;
}

/** `{docker: "/…/sock/docker.sock", …}` for the forwards of `portForwards` that carry a host socket. */
export function engineSockets(portForwards: readonly Pick<FilledPortForward, "hostSocket" | "guestSocket" | "ignore" | "reverse">[]): Record<string, string> {
  const sockets: Record<string, string> = {};
  for (const rule of portForwards) {
    if (!rule.hostSocket || rule.ignore || rule.reverse) continue;
    const base = engineOfSocket(rule.hostSocket) ?? (rule.guestSocket ? engineOfSocket(rule.guestSocket) : undefined) ?? basename(rule.hostSocket);
    let key = base;
    for (let n = 2; key in sockets; n++) key = `${base}-${n}`;
    sockets[key] = rule.hostSocket;
  }
  return sockets;
}
