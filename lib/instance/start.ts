// `den start`: prepare the instance (image, disk), launch its host agent detached, then follow the host agent's
// events and report each boot stage as it begins, until the guest is ready, the boot fails, or the timeout passes.
// A failure names the stage that did not finish and shows the end of the serial console, never just "waiting for ssh".
import { spawn } from "node:child_process";
import { existsSync, openSync, closeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { createQemuDriver } from "../../drivers/qemu/qemu-driver.ts";
import { loadInstanceConfig } from "../config/load.ts";
import { DenError } from "../errors.ts";
import { BootStageInfo, type BootStage } from "../hostagent/boot-stage.ts";
import type { HostAgentEvent } from "../hostagent/events.ts";
import { followEvents } from "../hostagent/follow-events.ts";
import { prepareInstanceImage } from "../images/prepare-instance-image.ts";
import { createProgressReporter } from "../images/progress-reporter.ts";
import type { Logger } from "../log.ts";
import { instanceDir } from "../store/dirs.ts";
import { HostAgentPid, HostAgentStderrLog, HostAgentStdoutLog, SerialLog } from "../store/filenames.ts";
import { inspectInstance } from "../store/inspect.ts";
import { acquireInstanceLock } from "../store/instance-lock.ts";
import { isProcessAlive, readPidFile } from "../store/pid-file.ts";
import { selfCommand } from "./self-command.ts";

export interface StartOptions {
  /** How long the whole boot may take before den gives up and stops the instance (10 min by default, as Lima). */
  timeoutMs: number;
  /** Keep the host agent attached to this process and wait until it exits (for service managers). */
  foreground: boolean;
  logger: Logger;
  env: Record<string, string | undefined>;
  /** One line of progress for the user (stderr). */
  progress: (line: string) => void;
}

export interface StartResult {
  sshLocalPort: number;
  /** False when the instance was already running. */
  started: boolean;
}

// Generous: on a loaded machine a host agent run from source takes seconds just to load its modules.
const HostAgentPidWaitMs = 30_000;
const SerialTailLines = 20;

export async function startInstance(denHome: string, name: string, options: StartOptions): Promise<StartResult> {
  const dir = instanceDir(denHome, name);
  if (!existsSync(join(dir, "den.yaml")) && !existsSync(dir)) {
    throw new DenError("INSTANCE_NOT_FOUND", `Cannot start instance "${name}": it does not exist`, { hint: `create it first: den create --name ${name} TEMPLATE` });
  }
  const before = await inspectInstance(denHome, name);
  if (before.status === "Running" || before.status === "Paused") {
    options.logger.info(`The instance "${name}" is already ${before.status.toLowerCase()}.`);
    return { sshLocalPort: before.sshLocalPort ?? 0, started: false };
  }
  const runningAgent = await readPidFile(join(dir, HostAgentPid));
  if (runningAgent !== undefined && isProcessAlive(runningAgent)) {
    throw new DenError("INSTANCE_STATE", `Cannot start instance "${name}": its host agent (PID ${runningAgent}) is already running (status ${before.status})`, {
      hint: `wait for it, or run "den stop -f ${name}" and start again`,
    });
  }

  const startedAt = new Date();
  const child = await (async () => {
    await using _lock = await acquireInstanceLock(dir, { timeoutMs: 10_000, owner: "den start" });
    const config = await loadInstanceConfig(denHome, name);
    options.progress(`Starting "${name}" (${config.vmType}, ${config.arch}, ${config.cpus} CPUs, ${config.memory} memory)`);
    // A redrawn bar only on a terminal; logs and pipes get a line every few seconds.
    const terminal = process.stderr.isTTY ? { write: (text: string) => void process.stderr.write(text), columns: () => process.stderr.columns || 80 } : undefined;
    await prepareInstanceImage(dir, config, { hostHome: options.env.HOME ?? homedir(), env: options.env, onEvent: createProgressReporter({ line: options.progress, terminal }) });
    const driver = createQemuDriver({ instanceName: name, instanceDir: dir, denHome, config, sshLocalPort: 0, env: options.env, logger: options.logger });
    await driver.validate();
    await driver.createDisk();
    return launchHostAgent(dir, name, options);
  })();

  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new DenError("BOOT_FAILED", "timeout")), options.timeoutMs);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  void exited.then(() => setTimeout(() => abort.abort(), 2_000));
  try {
    const outcome = await followBoot(join(dir, HostAgentStdoutLog), { signal: abort.signal, since: new Date(startedAt.getTime() - 1_000), progress: options.progress });
    if (outcome.kind === "ready") {
      options.progress(`READY. Run "den shell ${name}" to open a shell (or: ssh -F ${join(dir, "ssh.config")} den-${name}).`);
      if (options.foreground) {
        forwardSignals(child);
        await exited;
      }
      return { sshLocalPort: outcome.sshLocalPort, started: true };
    }
    const stage = outcome.stage ?? "qemu";
    if (outcome.kind === "failed") {
      // The host agent stops the VM after its last event; return only once both are gone, so the instance reads Stopped.
      await hostAgentGone(dir, 60_000);
      throw await bootError(dir, name, `${outcome.errors.join("; ") || "the host agent exited"}`, stage, outcome.serialTail);
    }
    // Timed out: stop the half-booted VM rather than leave a QEMU process behind.
    process.kill(child.pid ?? 0, "SIGINT");
    await hostAgentGone(dir, 200_000);
    throw await bootError(dir, name, `the boot did not finish within ${formatDuration(options.timeoutMs)}; it was waiting for ${BootStageInfo[stage].waitingFor} (the instance was stopped)`, stage, undefined);
  } finally {
    clearTimeout(timer);
  }
}

type BootOutcome =
  | { kind: "ready"; sshLocalPort: number }
  | { kind: "failed"; stage: BootStage | undefined; errors: string[]; serialTail: string[] | undefined }
  | { kind: "timeout"; stage: BootStage | undefined };

/** Reads events until the guest is ready or the host agent exits; prints one line per stage and each warning once. */
async function followBoot(logPath: string, options: { signal: AbortSignal; since: Date; progress: (line: string) => void }): Promise<BootOutcome> {
  let stage: BootStage | undefined;
  let port: number | undefined;
  const warned = new Set<string>();
  let last: HostAgentEvent | undefined;
  for await (const event of followEvents(logPath, { signal: options.signal, since: options.since })) {
    last = event;
    const status = event.status;
    for (const warning of status.warnings ?? []) {
      if (!warned.has(warning)) options.progress(`WARNING: ${warning}`);
      warned.add(warning);
    }
    // Guest services (mounts, ports) speak up as soon as something does not work, not only at the end.
    for (const [service, report] of Object.entries(status.services ?? {})) {
      const line = report.state === "degraded" ? `WARNING: ${service}: ${report.message ?? "degraded"}` : undefined;
      if (line && !warned.has(line)) options.progress(line);
      if (line) warned.add(line);
    }
    if (status.sshLocalPort && status.sshLocalPort !== port) {
      port = status.sshLocalPort;
      options.progress(`SSH local port: ${port}`);
    }
    if (status.stage && status.stage !== stage && !status.exiting) {
      stage = status.stage;
      if (stage !== "ready") options.progress(`[${formatSeconds(status.stageElapsedMs)}] waiting for ${BootStageInfo[stage].waitingFor}`);
    }
    if (status.exiting) return { kind: "failed", stage, errors: status.errors, serialTail: status.serialTail };
    if (status.running) {
      options.progress(`[${formatSeconds(status.stageElapsedMs)}] ready`);
      for (const error of status.errors) options.progress(`WARNING: ${error}`);
      return { kind: "ready", sshLocalPort: status.sshLocalPort ?? 0 };
    }
  }
  if (last?.status.exiting) return { kind: "failed", stage, errors: last.status.errors, serialTail: last.status.serialTail };
  return { kind: "timeout", stage };
}

/** Spawns `den hostagent NAME` with its stdout/stderr in the instance's log files; waits until it wrote ha.pid. */
async function launchHostAgent(dir: string, name: string, options: StartOptions) {
  const [command, ...prefix] = selfCommand() as [string, ...string[]];
  const stdout = openSync(join(dir, HostAgentStdoutLog), "w");
  const stderr = openSync(join(dir, HostAgentStderrLog), "w");
  const child = spawn(command, [...prefix, "hostagent", name], {
    detached: !options.foreground,
    stdio: ["ignore", stdout, stderr],
    env: options.env,
  });
  closeSync(stdout);
  closeSync(stderr);
  if (!options.foreground) child.unref();
  const exitedEarly = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + HostAgentPidWaitMs;
  while (Date.now() < deadline) {
    if ((await readPidFile(join(dir, HostAgentPid))) === child.pid) return child;
    if (await Promise.race([exitedEarly.then(() => true), Bun.sleep(50).then(() => false)])) break;
  }
  const log = await readFile(join(dir, HostAgentStderrLog), "utf8").catch(() => "");
  throw new DenError("BOOT_FAILED", `Cannot start instance "${name}": the host agent did not start up in ${HostAgentPidWaitMs / 1000} s${log ? `:\n${tail(log, 10)}` : ""}`, {
    hint: `see ${join(dir, HostAgentStderrLog)}`,
  });
}

async function bootError(dir: string, name: string, reason: string, stage: BootStage, serialTail: string[] | undefined): Promise<DenError> {
  const lines = serialTail ?? tail(await readFile(join(dir, SerialLog), "utf8").catch(() => ""), SerialTailLines).split("\n");
  const console = lines.filter((line) => line.trim() !== "").map((line) => `  | ${line}`);
  const shown = console.length > 0 ? `\nlast lines of ${join(dir, SerialLog)}:\n${console.join("\n")}` : `\n(${SerialLog} is empty)`;
  return new DenError("BOOT_FAILED", `Cannot start instance "${name}" (stage "${stage}"): ${reason}${shown}`, {
    hint: `${BootStageInfo[stage].hint}; host agent log: ${join(dir, HostAgentStderrLog)}`,
    details: { stage },
  });
}

/** Waits until the host agent removed its ha.pid (it does so last, after the VM is gone). */
async function hostAgentGone(dir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pid = await readPidFile(join(dir, HostAgentPid));
    if (pid === undefined || !isProcessAlive(pid)) return;
    await Bun.sleep(200);
  }
}

function forwardSignals(child: ReturnType<typeof spawn>): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

function formatSeconds(ms: number | undefined): string {
  return `${((ms ?? 0) / 1000).toFixed(1).padStart(5)}s`;
}

function formatDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}
