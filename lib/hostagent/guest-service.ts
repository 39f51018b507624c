// A guest service is something the host agent runs beside a booted guest: mounts, port forwarding, file events.
// Each lives in its own module and is listed in guest-services.ts; the host agent starts them once the boot scripts
// are done, waits for each to be set up before it reports the instance ready, and stops them before the VM.
import type { z } from "zod";
import type { Driver } from "../../drivers/driver.ts";
import type { FilledDenYaml } from "../config/schema.ts";
import type { GuestAgentClient } from "../guestagent/guest-agent-client.ts";
import type { Logger } from "../log.ts";
import type { SshSession } from "../ssh/ssh-session.ts";
import type { GuestServiceReportSchema } from "./events.ts";

/**
 * What a service shows in `den list --json`, `/v1/info` and ha.stdout.log, under `services.<name>`. It crosses ha.sock
 * and the event log, so its shape is the schema in events.ts:
 * - `state`: starting: being set up; ready: works; degraded: runs but something the user asked for does not work.
 * - `message`: one sentence for the user when something is wrong (which mount, which port, why).
 * - `data`: service-specific JSON (e.g. the active forwards); each service parses its own with its own zod schema.
 */
export type GuestServiceReport = z.output<typeof GuestServiceReportSchema>;

export interface GuestServiceContext {
  instanceName: string;
  instanceDir: string;
  denHome: string;
  config: FilledDenYaml;
  driver: Driver;
  ssh: {
    /** 127.0.0.1:<port> reaches the guest's sshd. */
    port: number;
    user: string;
    privateKey: string;
    privateKeyPath: string;
    /** An open session the service may use for quick commands; open your own for long-lived channels. */
    session: SshSession;
  };
  /**
   * The guest agent; it may still be connecting, and may reconnect while the service runs. Undefined when the
   * instance runs without one (`plain: true`, or a den build without an embedded agent): a service that needs it
   * reports degraded and says so.
   */
  agent: GuestAgentClient | undefined;
  env: Record<string, string | undefined>;
  log: Logger;
  /** Publishes the service's current report (an event line in ha.stdout.log and the answer of /v1/info). */
  report(report: GuestServiceReport): void;
  /** Aborted when the host agent shuts down. */
  signal: AbortSignal;
}

export interface RunningGuestService {
  /** Undoes what the service set up (unmount, close listeners); must not throw. */
  stop(): Promise<void>;
}

export interface GuestService {
  /** Short name used as the key under `services` and in messages: "mounts", "ports", "mount-inotify". */
  name: string;
  /** Shown by `den start` while the host agent waits for `start` to resolve: "the mounts". */
  waitingFor: string;
  /** Whether this instance needs the service at all (e.g. mounts only when `mounts` is not empty). */
  enabled(config: FilledDenYaml): boolean;
  /**
   * Sets the service up. Resolving means "set up far enough to report ready" (a degraded report is fine);
   * rejecting marks the instance degraded with the error's message. Must honour `ctx.signal`.
   */
  start(ctx: GuestServiceContext): Promise<RunningGuestService>;
}
