// Host forwards through QEMU's user-mode network (slirp), added and removed at run time with the HMP commands
// `hostfwd_add` / `hostfwd_remove` over QMP's human-monitor-command. HMP answers in text and never with a QMP error:
// an empty reply is success, any other text is the error, so every reply is parsed and none is taken on trust.
// QEMU 7.2 says only "Could not set up host forwarding rule '…'" whatever the cause (libslirp gives it no errno);
// whether the port was taken is then asked of the host itself.
import { createServer } from "node:net";
import { DenError } from "../../lib/errors.ts";
import type { CallOptions, HostForward, HostForwarder, HostForwardResult } from "../driver.ts";

/** What a `hostfwd_add` reply says. */
export type HostfwdAddReply =
  | { ok: true }
  | {
      ok: false;
      /** The reply's first line, e.g. "Could not set up host forwarding rule 'tcp:127.0.0.1:80-:80'". */
      message: string;
      /**
       * in-use: the reply names the taken address; bind-failed: slirp could not open the host listener, cause not
       * given; rejected: QEMU refused the command itself (bad rule, unknown netdev id, no such command).
       */
      why: "in-use" | "bind-failed" | "rejected";
    };

/** What the host says of an address and port when den tries to bind it. */
export type HostPortProbe = "free" | "in-use" | "other";

export interface SlirpHostForwarderContext {
  /** The `-netdev user,id=…` the forwards belong to. */
  netdevId: string;
  /** Runs one HMP command line in the running QEMU and resolves with its reply text. */
  monitor: (commandLine: string, options?: CallOptions) => Promise<string>;
  /** Tries to bind `ip:port` on the host and lets it go at once. */
  probeHostPort: (ip: string, port: number) => Promise<HostPortProbe>;
}

/** `tcp:127.0.0.1:8080-:80`: no guest address, so slirp sends to the address its DHCP hands the guest (10.0.2.15). */
export function hostfwdRule(forward: HostForward): string {
  return `${forward.proto}:${forward.hostIP}:${forward.hostPort}-:${forward.guestPort}`;
}

/** `tcp:127.0.0.1:8080`: how hostfwd_remove names a forward. */
export function hostfwdSource(forward: HostForward): string {
  return `${forward.proto}:${forward.hostIP}:${forward.hostPort}`;
}

export function parseHostfwdAddReply(reply: string): HostfwdAddReply {
  const message = firstLine(reply);
  if (message === "") return { ok: true };
  if (/address already in use/i.test(message)) return { ok: false, message, why: "in-use" };
  if (/^could not set up host forwarding rule/i.test(message)) return { ok: false, message, why: "bind-failed" };
  return { ok: false, message, why: "rejected" };
}

/** `removed` or `not-found` (both leave no forward behind); any other reply is an error and is thrown. */
export function parseHostfwdRemoveReply(reply: string, forward: HostForward): "removed" | "not-found" {
  const message = firstLine(reply);
  const outcome = /^host forwarding rule for \S+ (removed|not found)$/.exec(message)?.[1];
  if (outcome === "removed") return "removed";
  if (outcome === "not found") return "not-found";
  throw new DenError("QMP", `Cannot remove the QEMU host forward "${hostfwdSource(forward)}": QEMU answered "${message}"`, {
    hint: "the host port may stay open until the instance stops; see ha.stderr.log in the instance folder",
  });
}

/** A HostForwarder over QEMU's monitor; calls run one at a time, as QEMU's QMP socket takes one client at a time. */
export function slirpHostForwarder(ctx: SlirpHostForwarderContext): HostForwarder {
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(run: () => Promise<T>): Promise<T> => {
    const next = queue.then(run);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    add: (forward, options) =>
      serial(async (): Promise<HostForwardResult> => {
        let reply: string;
        try {
          reply = await ctx.monitor(`hostfwd_add ${ctx.netdevId} ${hostfwdRule(forward)}`, options);
        } catch (error) {
          return { ok: false, reason: "listen-failed", detail: `QEMU's monitor failed: ${error instanceof Error ? error.message : String(error)}` };
        }
        const parsed = parseHostfwdAddReply(reply);
        if (parsed.ok) return parsed;
        const inUse = `host port ${forward.hostPort} is already in use`;
        if (parsed.why === "in-use") return { ok: false, reason: "port-in-use", detail: inUse };
        if (parsed.why === "bind-failed" && (await ctx.probeHostPort(forward.hostIP, forward.hostPort)) === "in-use") {
          return { ok: false, reason: "port-in-use", detail: inUse };
        }
        return { ok: false, reason: "listen-failed", detail: `QEMU answered "${parsed.message}"` };
      }),
    remove: (forward, options) =>
      serial(async () => {
        let reply: string;
        try {
          reply = await ctx.monitor(`hostfwd_remove ${ctx.netdevId} ${hostfwdSource(forward)}`, options);
        } catch (error) {
          // No QEMU, no forward: its host listener went with the process.
          if (error instanceof DenError && error.code === "INSTANCE_STATE") return;
          throw error;
        }
        parseHostfwdRemoveReply(reply, forward);
      }),
  };
}

function firstLine(reply: string): string {
  return (reply.replaceAll("\r", "").split("\n").find((line) => line.trim() !== "") ?? "").trim();
}

/** Binds `ip:port` exclusively and closes it again: EADDRINUSE means another process holds the port. */
export function probeHostPort(ip: string, port: number): Promise<HostPortProbe> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE" ? "in-use" : "other"));
    server.listen({ host: ip, port, exclusive: true }, () => server.close(() => resolve("free")));
  });
}
