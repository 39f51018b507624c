// `den stop`: ask the host agent to shut the VM down and wait until it has, or (force) kill both processes and
// clear what they leave behind. Lima's sequence and timeouts, each replaceable for tests.
import { readdir, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { loadInstanceConfig } from "../config/load.ts";
import { releaseInstanceDisks } from "../disks/instance-disks.ts";
import { DenError } from "../errors.ts";
import { removeCopiedFiles } from "../hostagent/copy-to-host.ts";
import { hostAgentRequest } from "../hostagent/api-client.ts";
import { followEvents } from "../hostagent/follow-events.ts";
import type { Logger } from "../log.ts";
import { signalPid } from "../process/signal-pid.ts";
import { HostAgentPid, HostAgentStderrLog, HostAgentStdoutLog, QemuPid, TmpFileSuffixes } from "../store/filenames.ts";
import { inspectInstance } from "../status/inspect.ts";
import type { InstanceInfo } from "../status/instance-info.ts";
import { acquireInstanceLock } from "../store/instance-lock.ts";
import { existingInstanceDir } from "../store/instance-name.ts";
import { driverOwner, hostAgentOwner, isProcessAlive, type PidOwner, type ProcessReader, readOwnedPid } from "../store/pid-file.ts";

export interface StopTimeouts {
  /** How long to wait for the host agent's `exiting` event; Lima: 3 m 10 s (the VM's own shutdown takes up to 3 m). */
  exitingTimeoutMs?: number | undefined;
  /** How long to wait, after that, for the status to become Stopped; Lima: 3 m. */
  stoppedTimeoutMs?: number | undefined;
  /** Status poll interval; Lima: 500 ms. */
  pollMs?: number | undefined;
  /** Timeout of the POST /v1/stop request itself. */
  requestTimeoutMs?: number | undefined;
}

export interface StopOptions extends StopTimeouts {
  logger: Logger;
  /** Kill instead of asking: works on a Broken instance, loses what the guest had not written to disk. */
  force?: boolean | undefined;
  /** How process command lines and start times are read before a PID is trusted; the host's by default. */
  readProcess?: ProcessReader | undefined;
}

export interface ForceStopOptions {
  logger: Logger;
  waitMs?: number | undefined;
  readProcess?: ProcessReader | undefined;
}

export type StopOutcome = "stopped" | "already-stopped";

/** Stops instance `name`; returns "already-stopped" (and does nothing) when it is not running. */
export async function stopInstance(denHome: string, name: string, options: StopOptions): Promise<StopOutcome> {
  const dir = await existingInstanceDir(denHome, name);
  // A `den start` that is still preparing holds the lock and has launched nothing yet: the instance reads Stopped,
  // yet it is about to run. Saying "already stopped" (or clearing its files) would be a stop that silently did not
  // happen; the lock's holder is named instead. Held to the end, so no start begins while this stop waits.
  await using _lock = await acquireInstanceLock(dir, { timeoutMs: 0, owner: `den stop${options.force ? " -f" : ""}` });
  const info = await inspectInstance(denHome, name, { logger: options.logger, readProcess: options.readProcess });
  if (options.force) {
    if (info.status === "Stopped") {
      // Nothing runs, but a crash may have left sockets and temporary files: clear them as Lima does.
      await removeRuntimeFiles(dir);
      // …and disk locks its host agent could not release (Lima's stop -f unlocks the disks too).
      await releaseInstanceDisks(denHome, dir, { logger: options.logger });
      return "already-stopped";
    }
    await forceStopInstance(dir, { logger: options.logger, readProcess: options.readProcess });
    // A killed host agent could not remove the copyToHost files marked deleteOnStop; a clean stop has done so.
    await removeDeleteOnStopFiles(denHome, name, dir);
    return "stopped";
  }
  if (info.status === "Stopped") return "already-stopped";
  if (info.status === "Broken") {
    throw new DenError("INSTANCE_STATE", `Cannot stop instance "${name}" gracefully: it is Broken (${(info.errors ?? []).join("; ")})`, {
      hint: `force it: den stop -f ${name}`,
    });
  }
  await stopGracefully(denHome, info, options);
  return "stopped";
}

/**
 * SIGKILLs the VM process and the host agent (in that order, so the host agent cannot restart anything), waits
 * until they are gone, then removes every `*.pid`, `*.sock` and `*.tmp` left in the folder. Only PIDs that name the
 * processes den started are signalled (readOwnedPid): a PID file left from before a reboot may name anything.
 */
export async function forceStopInstance(instanceDir: string, options: ForceStopOptions): Promise<void> {
  const pids: number[] = [];
  const owned = async (file: string, expect: PidOwner): Promise<void> => {
    const found = await readOwnedPid(join(instanceDir, file), { expect, readProcess: options.readProcess });
    if (found.stale) options.logger.debug(`Not signalling: ${found.stale}`, { instance: basename(instanceDir) });
    if (found.pid) pids.push(found.pid);
  };
  for (const file of await driverPidFiles(instanceDir)) await owned(file, driverOwner(join(instanceDir, file)));
  await owned(HostAgentPid, hostAgentOwner(basename(instanceDir)));
  for (const pid of pids) {
    options.logger.info(`Sending SIGKILL to process ${pid}`);
    signalPid(pid, "SIGKILL", { of: `instance "${instanceDir}"` });
  }
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  while (pids.some(isProcessAlive)) {
    if (Date.now() > deadline) {
      const alive = pids.filter(isProcessAlive);
      throw new DenError("STOP_TIMEOUT", `Cannot stop instance in "${instanceDir}": process ${alive.join(", ")} survived SIGKILL`, {
        hint: "the process may be stuck in the kernel (e.g. on a hung disk); check it with ps",
      });
    }
    await Bun.sleep(20);
  }
  await removeRuntimeFiles(instanceDir);
  // A killed host agent cannot release the instance's additional disks; instanceDirOf() put the folder in DEN_HOME.
  await releaseInstanceDisks(dirname(instanceDir), instanceDir, { logger: options.logger });
}

async function stopGracefully(denHome: string, info: InstanceInfo, options: StopOptions): Promise<void> {
  const name = info.name;
  const dir = info.dir;
  const exitingTimeoutMs = options.exitingTimeoutMs ?? 190_000;
  const stoppedTimeoutMs = options.stoppedTimeoutMs ?? 180_000;
  const pollMs = options.pollMs ?? 500;
  // Events of an earlier run of the host agent are in the same log only if it was not truncated; skip them.
  const begin = new Date(Date.now() - 1000);
  try {
    await hostAgentRequest(dir, { method: "POST", path: "/v1/stop", timeoutMs: options.requestTimeoutMs ?? 3000 });
  } catch (error) {
    const pid = info.hostAgentPID;
    if (!pid) throw error;
    options.logger.debug(`POST /v1/stop failed, sending SIGINT to the host agent (PID ${pid})`, { error: (error as Error).message });
    signalPid(pid, "SIGINT", { of: `instance "${dir}"` });
  }
  options.logger.info("Waiting for the host agent and the VM to shut down");
  const exited = await waitForExiting(dir, { since: begin, timeoutMs: exitingTimeoutMs, pollMs: Math.min(pollMs, 100), hostAgentPid: info.hostAgentPID });
  if (exited === "timeout") {
    throw new DenError("STOP_TIMEOUT", `Cannot stop instance "${name}": the host agent did not finish within ${formatMs(exitingTimeoutMs)}`, {
      hint: `see ${join(dir, HostAgentStderrLog)}; force it with den stop -f ${name}`,
    });
  }
  for (const message of exited === "gone" ? [] : exited.errors) options.logger.warn(message);
  const deadline = Date.now() + stoppedTimeoutMs;
  for (;;) {
    const now = await inspectInstance(denHome, name, { logger: options.logger, readProcess: options.readProcess });
    if (now.status === "Stopped") return;
    if (now.status === "Broken" && !now.hostAgentPID) {
      throw new DenError("STOP_TIMEOUT", `Cannot stop instance "${name}": the host agent exited but ${(now.errors ?? []).join("; ")}`, {
        hint: `force it: den stop -f ${name}`,
      });
    }
    if (Date.now() >= deadline) {
      throw new DenError("STOP_TIMEOUT", `Cannot stop instance "${name}": still ${now.status} after ${formatMs(stoppedTimeoutMs)}`, {
        hint: `see ${join(dir, HostAgentStderrLog)}; force it with den stop -f ${name}`,
      });
    }
    await Bun.sleep(pollMs);
  }
}

/**
 * Follows ha.stdout.log until an `exiting` event (its errors are worth showing), the host agent's process is
 * gone without one (a crash: the status poll that follows tells the rest), or the timeout.
 */
async function waitForExiting(
  dir: string,
  options: { since: Date; timeoutMs: number; pollMs: number; hostAgentPid: number | undefined },
): Promise<{ errors: string[] } | "gone" | "timeout"> {
  const controller = new AbortController();
  let why: "gone" | "timeout" | undefined;
  const timer = setTimeout(() => {
    why = "timeout";
    controller.abort();
  }, options.timeoutMs);
  let goneAt: number | undefined;
  const watcher = setInterval(() => {
    if (!options.hostAgentPid || isProcessAlive(options.hostAgentPid)) return;
    goneAt ??= Date.now();
    // Give the follower two more polls to read an `exiting` line written just before the exit.
    if (Date.now() - goneAt >= options.pollMs * 2) {
      why ??= "gone";
      controller.abort();
    }
  }, options.pollMs);
  try {
    for await (const event of followEvents(join(dir, HostAgentStdoutLog), { signal: controller.signal, since: options.since, pollMs: options.pollMs })) {
      if (event.status.exiting) return { errors: event.status.errors };
    }
    return why ?? "timeout";
  } finally {
    clearTimeout(timer);
    clearInterval(watcher);
  }
}

/** `qemu.pid` and any other `<vmType>.pid`: every PID file but the host agent's. */
async function driverPidFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const others = names.filter((file) => file.endsWith(".pid") && file !== HostAgentPid && file !== QemuPid).sort();
  return [QemuPid, ...others];
}

async function removeDeleteOnStopFiles(denHome: string, name: string, dir: string): Promise<void> {
  const config = await loadInstanceConfig(denHome, name).catch(() => undefined);
  if (config) await removeCopiedFiles(config.copyToHost, dir);
}

async function removeRuntimeFiles(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const file of names) {
    if (TmpFileSuffixes.some((suffix) => file.endsWith(suffix))) await rm(join(dir, file), { force: true, recursive: true });
  }
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
