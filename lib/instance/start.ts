// `den start`: prepare the instance (image, disk), launch its host agent detached, then follow the host agent's
// events and report each boot stage as it begins, until the guest is ready, the boot fails, or the timeout passes.
// A failure names the stage that did not finish and shows the end of the serial console, never just "waiting for ssh".
import { spawn } from "node:child_process";
import { closeSync, constants, existsSync, fchmodSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { createDriver, denDrivers } from "../../drivers/registry.ts";
import { loadInstanceConfig } from "../config/load.ts";
import { fetchContainerdArchive } from "../containerd/fetch-containerd-archive.ts";
import { lockInstanceDisks, releaseInstanceDisks } from "../disks/instance-disks.ts";
import { DenError } from "../errors.ts";
import { bootStageInfo, type BootDriverNames, type BootStage } from "../hostagent/boot-stage.ts";
import type { HostAgentEvent } from "../hostagent/events.ts";
import { followEvents } from "../hostagent/follow-events.ts";
import { prepareInstanceImage } from "../images/prepare-instance-image.ts";
import { createProgressReporter } from "../images/progress-reporter.ts";
import type { Logger } from "../log.ts";
import { signalPid } from "../process/signal-pid.ts";
import { ConfigDir, HostAgentPid, HostAgentStderrLog, HostAgentStdoutLog, SshConfig, UserPrivateKey } from "../store/filenames.ts";
import { inspectInstance } from "../status/inspect.ts";
import { stopInstance } from "./stop.ts";
import { acquireInstanceLock } from "../store/instance-lock.ts";
import { existingInstanceDir } from "../store/instance-name.ts";
import { isProcessAlive, readPidFile } from "../store/pid-file.ts";
import { limaArch } from "../config/host-info.ts";
import { run } from "../process/run.ts";
import { runAnsibleProvisioning } from "../provision/ansible-playbook.ts";
import { afterReady } from "./after-ready.ts";
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
  /** Whether den may redraw a progress bar in place (`--tty`; off with `-y`/`--no-tty` and when stderr is no terminal). */
  interactive: boolean;
  /** A warning for the user (stderr, at warning level: a degraded service, a port that could not be forwarded). */
  warn: (line: string) => void;
  /** Where the template's `message:` goes once the instance is ready (stdout); `progress` lines when absent. */
  stdout?: ((text: string) => void) | undefined;
  /** Relative ansible playbook paths are taken from here (den's working directory by default). */
  cwd?: string | undefined;
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
  const dir = await existingInstanceDir(denHome, name, { action: "start", hint: `create it first: den create --name ${name} TEMPLATE` });
  let before = await inspectInstance(denHome, name);
  if (before.status === "Broken" && before.hostAgentPID !== undefined && before.driverPID === undefined) {
    // The VM is gone (killed, crashed) and its host agent only stays to show why: nothing runs that stopping it could
    // lose, so the start goes on after it, as the user asked, instead of demanding `den stop -f` first.
    options.warn(`The VM of instance "${name}" is gone (${(before.errors ?? []).join("; ").split("\n")[0]}); stopping its host agent first`);
    await stopInstance(denHome, name, { logger: options.logger, force: true });
    before = await inspectInstance(denHome, name);
  }
  if (before.status === "Running" || before.status === "Paused") {
    options.logger.info(`The instance "${name}" is already ${before.status.toLowerCase()}.`);
    return { sshLocalPort: before.sshLocalPort ?? 0, started: false };
  }
  await refuseRunningHostAgent(dir, { name, denHome, status: before.status });
  // A VM whose host agent died (kill -9, a crash) still runs the guest on this disk: a second VM must not boot from it,
  // and stopping the first loses what runs in it, which only the user may decide.
  if (before.driverPID !== undefined) {
    throw new DenError("INSTANCE_STATE", `Cannot start instance "${name}": its VM (PID ${before.driverPID}) still runs without a host agent`, {
      hint: `run "den stop -f ${name}" to stop that VM, then start again`,
      details: { driverPid: before.driverPID },
    });
  }

  const startedAt = new Date();
  const { child, boot, config, deadline } = await (async () => {
    await using _lock = await acquireInstanceLock(dir, { timeoutMs: 10_000, owner: "den start" });
    // Again under the lock: another den start may have held it while this one waited, and launched its host agent.
    await refuseRunningHostAgent(dir, { name, denHome });
    const config = await loadInstanceConfig(denHome, name, { notice: options.warn });
    // Before anything is downloaded: a vmType without a driver for this host is refused here. The host agent runs
    // validate() again and reports its warnings as events, which this process prints: here they go to the debug log,
    // so each warning reaches the user once.
    const driverLogger = { ...options.logger, warn: (message: string, fields?: Record<string, unknown>) => options.logger.debug(message, fields) };
    const driver = createDriver({ instanceName: name, instanceDir: dir, denHome, config, sshLocalPort: 0, env: options.env, logger: driverLogger });
    const registration = denDrivers().lookup(config.vmType);
    const boot: BootDriver = { firstStage: registration.vmType, displayName: registration.displayName, serialLog: driver.info().serialLog };
    options.progress(`Starting "${name}" (${config.vmType}, ${config.arch}, ${config.cpus} CPUs, ${config.memory} memory)`);
    // A redrawn bar only on a terminal; logs and pipes get a line every few seconds.
    const terminal = options.interactive && process.stderr.isTTY ? { write: (text: string) => void process.stderr.write(text), columns: () => process.stderr.columns || 80 } : undefined;
    const onEvent = createProgressReporter({ line: options.progress, warn: options.warn, terminal });
    await prepareInstanceImage(dir, config, { hostHome: options.env.HOME ?? homedir(), env: options.env, onEvent });
    // Before the VM: a missing or wrong containerd archive fails here, naming its URL and digest (the host agent only
    // looks it up in the cache).
    await fetchContainerdArchive(config, { hostHome: options.env.HOME ?? homedir(), env: options.env, onEvent });
    await driver.validate();
    await driver.createDisk();
    // Lima's rule: an additional disk serves one instance at a time. The host agent releases the locks when it exits.
    await lockInstanceDisks(denHome, dir, { disks: config.additionalDisks, logger: options.logger });
    // The host agent learns when this process gives up, so its readiness checks end in time to report why.
    const deadline = Date.now() + options.timeoutMs;
    const child = await launchHostAgent(dir, name, { ...options, deadline }).catch(async (error: unknown) => {
      await releaseInstanceDisks(denHome, dir, { logger: options.logger });
      throw error;
    });
    return { child, boot, config, deadline };
  })();

  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new DenError("BOOT_FAILED", "timeout")), Math.max(deadline - Date.now(), 0));
  let agentExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => {
      agentExit = { code, signal };
      resolve(code);
    }),
  );
  void exited.then(() => setTimeout(() => abort.abort(), 2_000));
  try {
    const outcome = await followBoot(join(dir, HostAgentStdoutLog), { signal: abort.signal, since: new Date(startedAt.getTime() - 1_000), progress: options.progress, warn: options.warn, driver: boot });
    if (outcome.kind === "ready") {
      if (outcome.errors.length > 0) throw degradedError(dir, name, outcome.errors);
      await runAnsibleProvisioning(config, { name, instanceDir: dir, io: { env: options.env, cwd: options.cwd ?? process.cwd(), which: Bun.which, spawn: spawnInheriting, progress: options.progress } });
      options.progress(`READY. Run "den shell ${name}" to open a shell (or: ssh -F ${join(dir, SshConfig)} den-${name}).`);
      await afterReady(denHome, name, {
        config,
        io: {
          env: options.env,
          run,
          which: Bun.which,
          progress: options.progress,
          warn: options.warn,
          stdout: options.stdout ?? ((text) => text.trimEnd().split("\n").forEach((line) => options.progress(line))),
          host: { hostOS: process.platform, hostArch: limaArch(process.arch), denHome, identityFile: join(denHome, ConfigDir, UserPrivateKey) },
        },
      });
      if (options.foreground) {
        forwardSignals(child);
        await exited;
      }
      return { sshLocalPort: outcome.sshLocalPort, started: true };
    }
    const stage = outcome.stage ?? boot.firstStage;
    if (outcome.kind === "failed") {
      // The host agent stops the VM after its last event; return only once both are gone, so the instance reads Stopped.
      await hostAgentGone(dir, 60_000);
      // No error of its own: it was told to stop (den stop, or SIGINT/SIGTERM) before the guest was ready.
      const reason = outcome.errors.join("; ") || `the instance was stopped (den stop or a signal to its host agent, PID ${child.pid}) before the guest was ready`;
      // den delete -f kills QEMU first: a host agent quick enough to report that has lost its folder too.
      const deleted = existsSync(dir) ? "" : "the instance was deleted while it booted: ";
      throw await bootError(dir, { name, reason: `${deleted}${reason}`, stage, serialTail: outcome.serialTail, driver: boot });
    }
    if (agentExit !== undefined) {
      // Gone without a last event: killed (den stop -f, den delete -f, kill -9). Waiting for the timeout would misreport it.
      const how = agentExit.signal ? `was killed by ${agentExit.signal}` : `exited with code ${agentExit.code} without a word`;
      const deleted = existsSync(dir) ? "" : "; the instance was deleted";
      throw await bootError(dir, { name, reason: `the host agent (PID ${child.pid}) ${how} before the guest was ready${deleted}`, stage, serialTail: undefined, driver: boot });
    }
    // Timed out: stop the half-booted VM rather than leave its process behind.
    if (child.pid !== undefined) signalPid(child.pid, "SIGINT", { of: "the host agent" });
    await hostAgentGone(dir, 200_000);
    const reason = `the boot did not finish within ${formatDuration(options.timeoutMs)}; it was waiting for ${bootStageInfo(stage, boot).waitingFor} (the instance was stopped)`;
    throw await bootError(dir, { name, reason, stage, serialTail: undefined, driver: boot });
  } finally {
    clearTimeout(timer);
  }
}

/** Refuses a start while a host agent of the instance lives (it may still be booting): two would fight over one VM. */
async function refuseRunningHostAgent(dir: string, options: { name: string; denHome: string; status?: string }): Promise<void> {
  const { name } = options;
  const runningAgent = await readPidFile(join(dir, HostAgentPid));
  if (runningAgent === undefined || !isProcessAlive(runningAgent)) return;
  const status = options.status ?? (await inspectInstance(options.denHome, name)).status;
  throw new DenError("INSTANCE_STATE", `Cannot start instance "${name}": its host agent (PID ${runningAgent}) is already running (status ${status})`, {
    hint: `wait for it, or run "den stop -f ${name}" and start again`,
    details: { hostAgentPid: runningAgent },
  });
}

/** The instance's driver as the boot report names it; its first stage is the driver starting the VM. */
interface BootDriver extends BootDriverNames {
  firstStage: BootStage;
}

type BootOutcome =
  /** `errors`: readiness checks, probes or copyToHost that failed; the instance runs degraded. */
  | { kind: "ready"; sshLocalPort: number; errors: string[] }
  | { kind: "failed"; stage: BootStage | undefined; errors: string[]; serialTail: string[] | undefined }
  | { kind: "timeout"; stage: BootStage | undefined };

/** Reads events until the guest is ready or the host agent exits; prints one line per stage and each warning once. */
async function followBoot(
  logPath: string,
  options: { signal: AbortSignal; since: Date; progress: (line: string) => void; warn: (line: string) => void; driver: BootDriverNames },
): Promise<BootOutcome> {
  let stage: BootStage | undefined;
  let check: string | undefined;
  let port: number | undefined;
  const warned = new Set<string>();
  let last: HostAgentEvent | undefined;
  for await (const event of followEvents(logPath, { signal: options.signal, since: options.since })) {
    last = event;
    const status = event.status;
    for (const warning of status.warnings ?? []) {
      if (!warned.has(warning)) options.warn(warning);
      warned.add(warning);
    }
    // Guest services (mounts, ports) speak up as soon as something does not work, not only at the end.
    for (const [service, report] of Object.entries(status.services ?? {})) {
      const line = report.state === "degraded" ? `${service}: ${report.message ?? "degraded"}` : undefined;
      if (line && !warned.has(line)) options.warn(line);
      if (line) warned.add(line);
    }
    if (status.sshLocalPort && status.sshLocalPort !== port) {
      port = status.sshLocalPort;
      options.progress(`SSH local port: ${port}`);
    }
    if (status.stage && status.stage !== stage && !status.exiting) {
      stage = status.stage;
      if (stage !== "ready") options.progress(`[${formatSeconds(status.stageElapsedMs)}] waiting for ${bootStageInfo(stage, options.driver).waitingFor}`);
    }
    if (status.check && status.check !== check && !status.exiting && !status.running) {
      check = status.check;
      options.progress(`        checking "${check}"`);
    }
    if (status.exiting) return { kind: "failed", stage, errors: status.errors, serialTail: status.serialTail };
    if (status.running) {
      options.progress(`[${formatSeconds(status.stageElapsedMs)}] ${status.errors.length > 0 ? "running, but degraded" : "ready"}`);
      return { kind: "ready", sshLocalPort: status.sshLocalPort ?? 0, errors: status.errors };
    }
  }
  if (last?.status.exiting) return { kind: "failed", stage, errors: last.status.errors, serialTail: last.status.serialTail };
  return { kind: "timeout", stage };
}

/** Spawns `den hostagent NAME` with its stdout/stderr in the instance's log files; waits until it wrote ha.pid. */
async function launchHostAgent(dir: string, name: string, options: StartOptions & { deadline: number }) {
  const [command, ...prefix] = selfCommand() as [string, ...string[]];
  const stdout = openLogFile(join(dir, HostAgentStdoutLog));
  const stderr = openLogFile(join(dir, HostAgentStderrLog));
  // den stop -f trusts ha.pid only for a process whose argv has these two words in a row (hostAgentOwner).
  const child = spawn(command, [...prefix, "hostagent", name, "--start-deadline", String(options.deadline)], {
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

async function bootError(
  dir: string,
  failure: { name: string; reason: string; stage: BootStage; serialTail: string[] | undefined; driver: BootDriverNames },
): Promise<DenError> {
  const { name, reason, stage, driver } = failure;
  const serialLog = join(dir, driver.serialLog);
  const lines = failure.serialTail ?? tail(await readFile(serialLog, "utf8").catch(() => ""), SerialTailLines).split("\n");
  const console = lines.filter((line) => line.trim() !== "").map((line) => `  | ${line}`);
  const shown = console.length > 0 ? `\nlast lines of ${serialLog}:\n${console.join("\n")}` : `\n(${driver.serialLog} is empty)`;
  return new DenError("BOOT_FAILED", `Cannot start instance "${name}" (stage "${stage}"): ${reason}${shown}`, {
    hint: `${bootStageInfo(stage, driver).hint}; host agent log: ${join(dir, HostAgentStderrLog)}`,
    details: { stage },
  });
}

/** The instance runs (Lima's DEGRADED), but something it was to provide is not there: each failure as the host agent wrote it. */
function degradedError(dir: string, name: string, errors: readonly string[]): DenError {
  const count = errors.length === 1 ? "1 check" : `${errors.length} checks`;
  return new DenError("INSTANCE_DEGRADED", `Instance "${name}" is running but DEGRADED: ${count} failed\n${errors.map((error) => `- ${error}`).join("\n")}`, {
    hint: `the instance keeps running: look inside with "den shell ${name}", fix the cause and run "den restart ${name}"; host agent log: ${join(dir, HostAgentStderrLog)}`,
    details: { errors },
  });
}

/** Runs a program with den's own stdout and stderr (ansible-playbook's output is for the user); resolves with its exit code. */
async function spawnInheriting(argv: string[], options: { env: Record<string, string | undefined>; cwd: string }): Promise<number | null> {
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "inherit", "inherit"], env: options.env, cwd: options.cwd });
  return await new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => resolve(code));
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

/**
 * O_APPEND: the host agent truncates these files to rotate them (lib/rotating-log.ts) and QEMU appends to ha.stderr.log
 * through its own descriptor; every write must land at the end. 0600 whatever the umask or an older file's mode: the
 * logs carry guest output and paths.
 */
function openLogFile(path: string): number {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND, 0o600);
  fchmodSync(fd, 0o600);
  return fd;
}
