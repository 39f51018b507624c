// The host agent: one process per running instance (`den hostagent NAME`, started detached by `den start`). It owns
// the VM process, tells the world what is happening through JSON-lines events on its stdout (ha.stdout.log), answers
// the CLI on ha.sock, and on SIGINT/SIGTERM (or POST /v1/stop) shuts the VM down before it exits itself.
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { writeSeed } from "../../cidata/write-seed.ts";
import type { Driver, StartedVm } from "../../drivers/driver.ts";
import { createDriver, denDrivers } from "../../drivers/registry.ts";
import { macAddress } from "../config/defaults.ts";
import { readHostInfo } from "../config/host-info.ts";
import { loadInstanceConfig } from "../config/load.ts";
import { type ContainerdArchiveDisk, ensureContainerdArchiveDisk } from "../containerd/archive-disk.ts";
import { cachedContainerdArchive } from "../containerd/cached-containerd-archive.ts";
import type { FilledDenYaml } from "../config/schema.ts";
import { DenError } from "../errors.ts";
import { freeTcpPort } from "../net/free-tcp-port.ts";
import type { Logger } from "../log.ts";
import { rotatingLog } from "../rotating-log.ts";
import { sshOptions } from "../ssh/ssh-options.ts";
import { openSshSession, type SshSession } from "../ssh/ssh-session.ts";
import { ensureUserKey } from "../ssh/user-key.ts";
import { waitForSsh } from "../ssh/wait-for-ssh.ts";
import { writeSshConfig } from "../ssh/write-ssh-config.ts";
import { instanceDir } from "../store/dirs.ts";
import { HostAgentPid, HostAgentSock, HostAgentStderrLog, HostAgentStdoutLog, SshConfig, SshSock } from "../store/filenames.ts";
import { isProcessAlive, readPidFile } from "../store/pid-file.ts";
import { releaseInstanceDisks } from "../disks/instance-disks.ts";
import type { HostAgentInfo } from "./api-schema.ts";
import { startApiServer } from "./api-server.ts";
import { snapshotHandlers } from "./snapshot-handlers.ts";
import { bootMarkers, bootMarkersCommand } from "./boot-markers.ts";
import { bootStages, fatalConsoleLine, stagesInConsole, type BootStage } from "./boot-stage.ts";
import { formatEvent, type HostAgentStatus } from "./events.ts";
import { connectGuestAgent } from "../guestagent/connect-guest-agent.ts";
import type { GuestAgentClient } from "../guestagent/guest-agent-client.ts";
import { guestAgentSeedEntries } from "../guestagent/guest-agent-seed-entry.ts";
import { type PreparedGuestAgent, prepareGuestAgent } from "../guestagent/prepare-guest-agent.ts";
import { expectsMuslGuest } from "../guestagent/guest-libc.ts";
import type { RunningGuestService } from "./guest-service.ts";
import { guestServices } from "./guest-services.ts";
import { startServices } from "./start-services.ts";
import { copyToHost, removeCopiedFiles } from "./copy-to-host.ts";
import { engineChecks } from "./engine-checks.ts";
import { probeChecks } from "./probes.ts";
import { formatCheckFailure, runReadinessChecks } from "./readiness-check.ts";
import { watchSerial } from "./serial-watch.ts";
import { run } from "../process/run.ts";

export interface HostAgentOptions {
  denHome: string;
  name: string;
  env: Record<string, string | undefined>;
  logger: Logger;
  /** How long the guest may take from the VM's start to ready before the host agent gives up (10 min, as Lima). */
  bootTimeoutMs?: number;
  /**
   * When `den start` gives up (epoch ms; its `--timeout`): the readiness checks of the "engine" stage stop in time for
   * their failure to reach it. Without it, only bootTimeoutMs bounds them.
   */
  startDeadline?: number | undefined;
  /** Grace period for the guest's own shutdown before the VM is stopped hard. */
  stopTimeoutMs?: number;
}

const SerialTailLines = 25;
/**
 * How long one SSH command waits in the guest for the boot scripts' markers before the host agent asks again. Short
 * enough that a command stuck in a login the boot scripts ended (07-etc-environment.sh) is given up soon.
 */
const MarkerWaitMs = 20_000;
/** How long the reason for a VM that is gone waits for the driver's last errors about it. */
const VmErrorsGraceMs = 2_000;
/** How long before den start's deadline the readiness checks stop, so their failure is reported rather than a timeout. */
const ReportMarginMs = 15_000;

/** Runs until the VM is gone; returns the process exit code. */
export async function runHostAgent(options: HostAgentOptions): Promise<number> {
  const dir = instanceDir(options.denHome, options.name);
  // The guest can make the host agent write (events, warnings): both files are rotated past a size (rotating-log.ts).
  const events = rotatingLog(1, { path: join(dir, HostAgentStdoutLog) });
  const stderr = rotatingLog(2, { path: join(dir, HostAgentStderrLog) });
  const log = options.logger.redirect?.((line) => stderr.write(`${line}\n`)) ?? options.logger;
  const started = performance.now();
  // Deadlines compare with Date.now(); performance.now() counts from this process's start.
  const startedAtEpochMs = Date.now();
  const elapsed = () => Math.round(performance.now() - started);

  const status: HostAgentStatus = { running: false, degraded: false, exiting: false, errors: [] };
  const emit = (patch: Partial<HostAgentStatus>) => {
    Object.assign(status, patch);
    // Synchronous so events keep their order and the last one is on disk before the process exits.
    events.write(formatEvent(status, new Date()));
  };

  await claimPidFile(join(dir, HostAgentPid));
  let paused = false;
  let broken = false;
  let driver: Driver | undefined;
  let vm: StartedVm | undefined;
  let session: SshSession | undefined;
  // Set once the guest agent connection is opened (right after the VM starts); see connect-guest-agent.ts.
  let agent: GuestAgentClient | undefined;
  const runningServices: RunningGuestService[] = [];
  const servicesStopped = new AbortController();
  let serial: ReturnType<typeof watchSerial> | undefined;
  let abandonBoot: (() => void) | undefined;
  const shutdown = Promise.withResolvers<string>();
  const onSignal = (signal: string) => () => shutdown.resolve(`received ${signal}`);
  process.on("SIGINT", onSignal("SIGINT"));
  process.on("SIGTERM", onSignal("SIGTERM"));

  const server = await startApiServer(join(dir, HostAgentSock), {
    info: (): HostAgentInfo => ({
      sshLocalPort: status.sshLocalPort ?? 0,
      status: broken ? "Broken" : paused ? "Paused" : status.running ? "Running" : "Starting",
      ...(status.stage && { stage: status.stage }),
      degraded: status.degraded,
      errors: status.errors,
      services: status.services ?? {},
    }),
    pause: async () => {
      if (!driver || !vm) throw new DenError("USAGE", "Cannot pause: the VM has not started yet");
      await driver.pause();
      paused = true;
    },
    resume: async () => {
      if (!driver || !vm) throw new DenError("USAGE", "Cannot resume: the VM has not started yet");
      await driver.resume();
      paused = false;
    },
    stop: () => shutdown.resolve("asked to stop over ha.sock"),
    snapshots: snapshotHandlers(() => (vm ? driver : undefined), { afterApply: () => closeSshMaster(dir) }),
  });

  let exitCode = 0;
  let config: FilledDenYaml | undefined;
  try {
    config = await loadInstanceConfig(options.denHome, options.name);
    // From here on the host agent knows the driver by what it declares, never by its name: the registry refuses a
    // driver declaring a feature this host agent has no code for (UnservedFeatures in drivers/registry.ts).
    const { vmType } = denDrivers().lookup(config.vmType, { instanceName: options.name });
    const sshLocalPort = config.ssh.localPort && config.ssh.localPort > 0 ? config.ssh.localPort : await freeTcpPort();
    emit({ sshLocalPort, stage: vmType, stageElapsedMs: elapsed() });
    // Before the driver: it attaches the agent's runtime disk.
    const guestAgent = await prepareAgent(config, { ...options, logger: log });
    // den start fetched the archive; a missing one fails the boot here rather than bring the guest up without containerd.
    const containerd = await prepareContainerd(config, options);
    driver = createDriver({
      instanceName: options.name,
      instanceDir: dir,
      denHome: options.denHome,
      config,
      sshLocalPort,
      env: options.env,
      logger: log,
      ...(guestAgent && { runtimeDisk: guestAgent.runtimeDisk }),
      ...(containerd && { containerdDisk: containerd.path }),
    });
    const serialLog = join(dir, driver.info().serialLog);
    const prepared = await prepareBoot(dir, config, { ...options, logger: log, sshLocalPort, serialLog, guestAgent, containerd });
    await driver.validate();
    const warnings = driver.warnings?.() ?? [];
    if (warnings.length > 0) emit({ warnings });

    const boot = bootSequence({ stages: bootStages(vmType), serialLog, config, sshLocalPort, prepared, timeoutMs: options.bootTimeoutMs ?? 600_000, emit, elapsed, status });
    serial = boot.serial;
    abandonBoot = boot.abandon;
    vm = await driver.start();
    // start() adds what it learned while launching, e.g. the fallback from a broken KVM to TCG.
    const moreWarnings = driver.warnings?.() ?? [];
    if (moreWarnings.length > warnings.length) emit({ warnings: moreWarnings });
    if (!config.plain && prepared.guestAgent) {
      // The driver names the transport (QEMU: its virtio-serial socket), so no driver's name is needed here.
      agent = connectGuestAgent(await driver.guestAgentConnection(), { log });
    } else if (!config.plain) {
      emit({ warnings: [...moreWarnings, `this den has no guest agent for ${config.arch}: port forwarding and file events are unavailable`] });
    }
    boot.reached(vmType);
    // The driver's own words on a failure (QEMU's last output, a VZ helper's error event) are the reason the user
    // needs; they end with the VM, so the reason waits for them a moment once it is gone.
    const vmErrors: string[] = [];
    const startedVm = vm;
    const errorsDrained = (async () => {
      for await (const error of startedVm.errors) {
        vmErrors.push(error.message);
        log.error(error.message);
        // A fault the VM survives (a virtiofsd that died) leaves a running instance degraded, said in den list and
        // den watch; before READY the READY event carries it.
        if (status.running) emit({ errors: [...status.errors, error.message], degraded: true });
      }
    })();
    const vmGone = vm.exited.then(async (exit) => {
      await Promise.race([errorsDrained, Bun.sleep(VmErrorsGraceMs)]);
      const how = `the VM exited unexpectedly (exit code ${exit.code ?? "none"}${exit.signal ? `, signal ${exit.signal}` : ""})`;
      return vmErrors.length > 0 ? `${how}: ${vmErrors.join("; ")}` : how;
    });
    const outcome = await Promise.race([
      boot.ready.then((ready) => ({ kind: "ready" as const, session: ready })),
      boot.failed.then((reason) => ({ kind: "failed" as const, reason })),
      vmGone.then((reason) => ({ kind: "failed" as const, reason })),
      shutdown.promise.then((reason) => ({ kind: "stop" as const, reason })),
    ]);
    if (outcome.kind === "failed") {
      exitCode = 1;
      emit({ errors: [...status.errors, outcome.reason], serialTail: serial.tail(SerialTailLines) });
    } else if (outcome.kind === "ready") {
      session = outcome.session;
      // The services and the readiness checks end in time for their failure to reach den start, not as its timeout.
      const deadline = Math.min(startedAtEpochMs + (options.bootTimeoutMs ?? 600_000), (options.startDeadline ?? Number.POSITIVE_INFINITY) - ReportMarginMs);
      const key = await ensureUserKey(options.denHome);
      const servicesUp = startServices(guestServices, {
        instanceName: options.name,
        instanceDir: dir,
        denHome: options.denHome,
        config,
        driver,
        ssh: { port: sshLocalPort, user: prepared.user, privateKey: prepared.privateKey, privateKeyPath: key.privateKeyPath, session },
        agent,
        env: options.env,
        log,
        signal: servicesStopped.signal,
      }, { emit, status, running: runningServices, deadline });
      const stopped = await Promise.race([servicesUp.then(() => false), shutdown.promise.then(() => true)]);
      if (stopped) throw new DenError("BOOT_FAILED", "stopped while the guest services were starting");
      const engineStage = runEngineStage({ config, instanceDir: dir, session, deadline, signal: servicesStopped.signal, emit, elapsed, log });
      const engine = await Promise.race([engineStage, shutdown.promise.then(() => undefined)]);
      if (engine === undefined) throw new DenError("BOOT_FAILED", "stopped while the readiness checks were running");
      const errors = [...status.errors, ...engine.errors, ...vmErrors];
      emit({ running: true, stage: undefined, check: undefined, stageElapsedMs: elapsed(), errors, degraded: status.degraded || errors.length > 0 });
      log.info(`instance "${options.name}" is ready after ${(elapsed() / 1000).toFixed(1)} s`);
      const end = await Promise.race([
        shutdown.promise.then((reason) => ({ kind: "stop" as const, reason })),
        vmGone.then((reason) => ({ kind: "gone" as const, reason })),
      ]);
      log.info(`shutting down: ${end.reason}`);
      if (end.kind === "gone") {
        // The instance stays visible as Broken, with the reason, until the user stops it: a host agent that quietly
        // disappeared would leave the instance looking Stopped and the cause unexplained.
        broken = true;
        emit({ running: false, errors: [...status.errors, end.reason], serialTail: serial.tail(SerialTailLines) });
        log.error(end.reason);
        log.info(`shutting down: ${await shutdown.promise}`);
      }
    }
  } catch (error) {
    exitCode = 1;
    const message = error instanceof Error ? error.message : String(error);
    log.error(message);
    emit({ errors: [...status.errors, message], ...(serial && { serialTail: serial.tail(SerialTailLines) }) });
  } finally {
    servicesStopped.abort();
    // Newest first: a service may rely on one started before it.
    for (const service of runningServices.reverse()) await service.stop();
    await agent?.close();
    serial?.stop();
    abandonBoot?.();
    session?.close();
    await closeSshMaster(dir);
    if (config) await removeCopiedFiles(config.copyToHost, dir);
    emit({ running: false, exiting: true });
    if (driver && vm) {
      // A guest whose boot failed (stuck in an initramfs shell, say) never answers the power button: give it seconds, not minutes.
      const stopOptions = exitCode === 0 ? {} : { signal: AbortSignal.timeout(5_000) };
      await driver.stop(stopOptions).catch((error: unknown) => log.error(`Cannot stop the VM: ${error instanceof Error ? error.message : String(error)}`));
    }
    await server.close();
    // Once the VM is gone: its additional disks are free for other instances again (Lima unlocks them here too).
    await releaseInstanceDisks(options.denHome, dir, { logger: log });
    await rm(join(dir, HostAgentPid), { force: true });
  }
  return exitCode;
}

interface PreparedBoot {
  iid: string;
  privateKey: string;
  user: string;
  /** The agent put into the seed (and its runtime disk); undefined in plain mode or when this den has none for the guest arch. */
  guestAgent: PreparedGuestAgent | undefined;
  /** The containerd archive's disk, whose sha256 the seed names; undefined when containerd is off. */
  containerd: ContainerdArchiveDisk | undefined;
}

/**
 * The guest agent for the instance: its bundle and runtime line for the seed, its runtime disk for the driver. A
 * damaged or unreachable runtime (offline, say) must not stop the boot: the instance comes up without an agent, with
 * the warning emitted after start and the reason in ha.stderr.log.
 */
async function prepareAgent(config: FilledDenYaml, options: HostAgentOptions): Promise<PreparedGuestAgent | undefined> {
  if (config.plain) return undefined;
  try {
    // An image named Alpine gets Bun's musl runtime beside the glibc one (guest-libc.ts says why that guess).
    return await prepareGuestAgent(config.arch, { denHome: options.denHome, env: options.env, hostHome: options.env.HOME ?? homedir(), musl: expectsMuslGuest(config) });
  } catch (error) {
    const hint = error instanceof DenError && error.hint ? ` (hint: ${error.hint})` : "";
    options.logger.error(`${error instanceof Error ? error.message : String(error)}${hint}`);
    return undefined;
  }
}

/** The containerd archive's disk for the driver and its sha256 for the seed; undefined when containerd is off. */
async function prepareContainerd(config: FilledDenYaml, options: HostAgentOptions): Promise<ContainerdArchiveDisk | undefined> {
  const archive = await cachedContainerdArchive(config, { hostHome: options.env.HOME ?? homedir(), env: options.env });
  return archive && (await ensureContainerdArchiveDisk(archive, { denHome: options.denHome }));
}

/** Writes what the guest reads at boot (the seed) and what the user's ssh reads (ssh.config). */
async function prepareBoot(
  dir: string,
  config: FilledDenYaml,
  options: HostAgentOptions & { sshLocalPort: number; serialLog: string; guestAgent: PreparedGuestAgent | undefined; containerd: ContainerdArchiveDisk | undefined },
): Promise<PreparedBoot> {
  const host = await readHostInfo();
  const key = await ensureUserKey(options.denHome);
  const iid = `iid-${Math.floor(Date.now() / 1000)}`;
  // The driver appends to the serial log; an old boot's lines would make this boot's stages look reached at once.
  await rm(options.serialLog, { force: true });
  const { guestAgent } = options;
  const { containerd } = options;
  await writeSeed(dir, {
    ...(guestAgent && { guestAgent: guestAgentSeedEntries(guestAgent) }),
    ...(containerd && { containerdArchiveSha256: containerd.sha256 }),
    config,
    facts: {
      instanceName: options.name,
      iid,
      sshPublicKeys: [key.publicKey],
      macAddress: macAddress(host.machineId, dir),
      hostHome: host.home,
      hostEnv: options.env,
    },
  });
  await writeSshConfig(
    dir,
    sshOptions({ identityFile: key.privateKeyPath, user: config.user.name, controlPath: join(dir, SshSock), port: options.sshLocalPort }),
  );
  return { iid, privateKey: await readFile(key.privateKeyPath, "utf8"), user: config.user.name, guestAgent, containerd };
}

interface BootSequenceInput {
  /** This boot's stages in order (bootStages()). */
  stages: readonly BootStage[];
  /** Path of the driver's serial console log. */
  serialLog: string;
  config: FilledDenYaml;
  sshLocalPort: number;
  prepared: PreparedBoot;
  timeoutMs: number;
  emit: (patch: Partial<HostAgentStatus>) => void;
  elapsed: () => number;
  status: HostAgentStatus;
}

/**
 * Tracks the boot through its stages: console markers for kernel, init and cloud-init, an SSH login for sshd, and the
 * boot scripts' marker files for the rest. A stage counts as reached as soon as any later stage is seen, so a guest
 * that prints less (a `quiet` kernel) still moves forward.
 */
function bootSequence(input: BootSequenceInput) {
  let reachedIndex = -1;
  const failed = Promise.withResolvers<string>();
  const reached = (stage: BootStage) => {
    const index = input.stages.indexOf(stage);
    if (index <= reachedIndex) return;
    reachedIndex = index;
    const next = input.stages[index + 1];
    if (next) input.emit({ stage: next, stageElapsedMs: input.elapsed() });
  };
  const serial = watchSerial(input.serialLog, {
    onText: (text) => {
      // "DEN| boot.sh start" only says the scripts began; their end is read from the marker files over SSH.
      for (const stage of stagesInConsole(text)) if (stage !== "boot-scripts") reached(stage);
      const fatal = fatalConsoleLine(text);
      if (fatal) failed.resolve(`the guest cannot boot: ${fatal}`);
    },
  });
  // The SSH waiter ends at the boot's deadline or when the host agent gives up on the boot (a guest stuck in its
  // initramfs, a stop): a waiter left retrying would keep a finished host agent alive until the deadline.
  const abandoned = new AbortController();
  const deadline = AbortSignal.any([AbortSignal.timeout(input.timeoutMs), abandoned.signal]);

  const ready = (async (): Promise<SshSession> => {
    const base = { port: input.sshLocalPort, user: input.prepared.user, privateKey: input.prepared.privateKey };
    // Until sshd listens a try fails at once (the driver's port forward resets it), so retrying often costs nothing.
    // The login that proves sshd up also serves the marker wait: one handshake fewer on the critical path.
    let session: SshSession | undefined = (await waitForSsh({ ...base, timeoutMs: input.timeoutMs, signal: deadline, retryIntervalMs: 250, keepSession: true })).session;
    reached("sshd");
    const waitForMarkers = bootMarkersCommand(bootMarkers(input.config.plain), input.prepared.iid, { waitMs: MarkerWaitMs });
    // A marker wait in flight ends with its session, not minutes later.
    const closeOnAbort = () => session?.close();
    deadline.addEventListener("abort", closeOnAbort, { once: true });
    try {
      for (;;) {
        deadline.throwIfAborted();
        try {
          if (!session?.open) session = await openSshSession(base);
          if ((await session.exec(waitForMarkers, { timeoutMs: MarkerWaitMs + 10_000 })).exitCode === 0) break;
        } catch {
          // The boot scripts end the user's sessions once (to apply /etc/environment), ours included: reconnect.
          session?.close();
          session = undefined;
          await Bun.sleep(250);
        }
      }
    } catch (error) {
      session?.close();
      throw error;
    } finally {
      deadline.removeEventListener("abort", closeOnAbort);
    }
    reached("boot-scripts");
    return session as SshSession;
  })();
  ready.catch((error: unknown) => {
    const stage = input.status.stage ?? "ready";
    const reason = error instanceof Error && error.name === "TimeoutError" ? `timed out after ${Math.round(input.timeoutMs / 1000)} s` : error instanceof Error ? error.message : String(error);
    failed.resolve(`the boot did not get past stage "${stage}": ${reason}`);
  });
  return {
    serial,
    ready,
    failed: failed.promise,
    /** Stops waiting for the guest: the host agent is shutting down. */
    abandon: () => abandoned.abort(new DenError("INSTANCE_STATE", "the host agent stopped waiting for the boot")),
    /** Marks a stage reached by an outside event (the driver started the VM). */
    reached: (stage: BootStage) => reached(stage),
  };
}

/**
 * The "engine" stage: the container engine's checks and the template's probes (reported as their own stage only when
 * there is one), then `copyToHost`. Resolves with one error per failure; the instance then runs degraded, as Lima's.
 */
async function runEngineStage(input: {
  config: FilledDenYaml;
  instanceDir: string;
  session: SshSession;
  deadline: number;
  signal: AbortSignal;
  emit: (patch: Partial<HostAgentStatus>) => void;
  elapsed: () => number;
  log: Logger;
}): Promise<{ errors: string[] }> {
  const { config, session } = input;
  const exec = (command: string, options: { timeoutMs: number }) => session.exec(command, options);
  const checks = [...engineChecks(config), ...probeChecks(config.probes)];
  const errors: string[] = [];
  if (checks.length > 0) {
    input.emit({ stage: "engine", stageElapsedMs: input.elapsed() });
    const failures = await runReadinessChecks(checks, {
      exec,
      deadline: input.deadline,
      now: Date.now,
      sleep: (ms) => Bun.sleep(ms),
      exportParams: Object.keys(config.param).length > 0,
      signal: input.signal,
      onCheck: (check) => {
        input.log.info(`waiting for ${check.kind === "engine" ? "the engine check" : "the probe"} "${check.description}"`);
        input.emit({ check: check.description });
      },
    });
    for (const failure of failures) {
      const text = formatCheckFailure(failure);
      input.log.error(text);
      errors.push(text);
    }
  }
  if (config.copyToHost.length > 0) {
    const copied = await copyToHost(config.copyToHost, { instanceDir: input.instanceDir, exec });
    for (const path of copied.copied) input.log.info(`copied a guest file to ${path}`);
    for (const path of copied.skipped) input.log.info(`${path} is missing in the guest; skipped (skipIfMissing)`);
    for (const error of copied.errors) input.log.error(error);
    errors.push(...copied.errors);
  }
  return { errors };
}

/** Ends the user's `ssh` ControlMaster (ControlPersist=yes keeps it alive otherwise), as Lima does on stop. */
async function closeSshMaster(dir: string): Promise<void> {
  if (!existsSync(join(dir, SshSock))) return;
  // Best effort: a master that does not answer within 5 s is killed by run(), and the stop goes on.
  await run(["ssh", "-F", join(dir, SshConfig), "-O", "exit", `den-${basename(dir)}`], { timeoutMs: 5_000 }).catch(() => undefined);
}

/** Writes our PID, refusing when another live host agent holds the file. */
async function claimPidFile(path: string): Promise<void> {
  const holder = await readPidFile(path);
  if (holder !== undefined && holder !== process.pid && isProcessAlive(holder)) {
    throw new DenError("INSTANCE_LOCKED", `Cannot start a host agent: another one (PID ${holder}) runs for this instance`, {
      hint: "stop it with den stop, or den stop -f if it does not respond",
    });
  }
  await writeFile(path, `${process.pid}\n`, { mode: 0o600 });
}
