// A test-only QEMU launcher: boots the e2e guest image under TCG with the machine shape den's QEMU driver will use
// (q35, direct kernel boot, qcow2 overlay, cidata on virtio-scsi + scsi-cd as Lima does, user networking with an ssh
// port forward). It exists so end-to-end tests can run a real cloud-init guest before that driver lands.
//
// Tests never use KVM: results must not depend on the host having /dev/kvm, and TCG is what CI machines offer.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync } from "node:fs";
import { createConnection } from "node:net";
import { join, resolve } from "node:path";
import { DenError } from "../../../lib/errors.ts";
import { freeTcpPort } from "../../../lib/net/free-tcp-port.ts";
import type { GuestImage } from "./guest-image.ts";

export interface LaunchGuestOptions {
  image: GuestImage;
  /** NoCloud seed; attached read-only as a SCSI CD-ROM. */
  seedIso: string;
  /** den's guest agent runtime disk (lib/guestagent/runtime-disk.ts), attached read-only as den's drivers do. */
  runtimeDisk?: string;
  /** Holds the overlay disk, serial log, QMP socket and pid file; created when missing and reused when present. */
  runDir: string;
  /** Defaults to a random 52:55:55:xx:xx:xx, Lima's prefix. */
  mac?: string;
  memoryMiB?: number;
  cpus?: number;
}

export interface WaitForSshOptions {
  user: string;
  identityFile: string;
  timeoutMs: number;
}

export interface SshResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface GuestHandle extends AsyncDisposable {
  readonly sshPort: number;
  readonly serialLog: string;
  readonly pid: number;
  readonly runDir: string;
  readonly mac: string;
  /** Resolves once `ssh … true` succeeds; rejects with the serial log's tail on timeout or when QEMU exits. */
  waitForSsh(options: WaitForSshOptions): Promise<void>;
  ssh(user: string, identityFile: string, command: string): Promise<SshResult>;
  /** ACPI power-down over QMP, then SIGTERM/SIGKILL after 60 s; safe to call more than once. */
  stop(): Promise<void>;
}

export interface QemuArgsInput {
  image: GuestImage;
  seedIso: string;
  runtimeDisk?: string;
  overlay: string;
  serialLog: string;
  qmpSocket: string;
  pidFile: string;
  sshPort: number;
  mac: string;
  memoryMiB: number;
  cpus: number;
}

const stopTimeoutMs = 60_000;
const killGraceMs = 5_000;
const powerdownRepeatMs = 10_000;
const startupTimeoutMs = 30_000;
const portAttempts = 3;
// sun_path is 108 bytes on Linux including the terminator.
const maxSocketPath = 107;

/** The qemu-system-x86_64 arguments for one boot (pure). */
export function buildQemuArgs(input: QemuArgsInput): string[] {
  return [
    "-name", "den-e2e",
    "-machine", "q35,vmport=off",
    "-accel", "tcg,thread=multi",
    "-cpu", "max",
    "-smp", String(input.cpus),
    "-m", String(input.memoryMiB),
    "-kernel", input.image.kernel,
    "-initrd", input.image.initrd,
    "-append", input.image.cmdline,
    "-drive", `file=${input.overlay},if=none,id=boot-disk,format=qcow2,discard=on`,
    "-device", "virtio-blk-pci,drive=boot-disk,bootindex=1",
    "-drive", `id=cdrom0,if=none,format=raw,readonly=on,file=${input.seedIso}`,
    "-device", "virtio-scsi-pci,id=scsi0",
    "-device", "scsi-cd,bus=scsi0.0,drive=cdrom0",
    ...(input.runtimeDisk ? ["-drive", `file=${input.runtimeDisk},if=virtio,format=raw,readonly=on`] : []),
    "-netdev", `user,id=net0,hostfwd=tcp:127.0.0.1:${input.sshPort}-:22`,
    "-device", `virtio-net-pci,netdev=net0,mac=${input.mac}`,
    "-device", "virtio-rng-pci",
    "-display", "none",
    "-vga", "none",
    "-monitor", "none",
    "-parallel", "none",
    "-serial", `file:${input.serialLog}`,
    "-qmp", `unix:${input.qmpSocket},server=on,wait=off`,
    "-pidfile", input.pidFile,
  ];
}

/** Boots the guest and returns once QEMU answers on QMP (the guest itself is still booting). */
export async function launchGuest(options: LaunchGuestOptions): Promise<GuestHandle> {
  const runDir = resolve(options.runDir);
  mkdirSync(runDir, { recursive: true });
  const mac = options.mac ?? randomMac();
  const paths = {
    overlay: join(runDir, "diffdisk.qcow2"),
    serialLog: join(runDir, "serial.log"),
    qmpSocket: join(runDir, "qmp.sock"),
    pidFile: join(runDir, "qemu.pid"),
    stderrLog: join(runDir, "qemu.stderr.log"),
  };
  const seedIso = resolve(options.seedIso);
  // QEMU splits option values at commas, and a unix socket path has a hard length limit.
  for (const path of [runDir, seedIso, options.image.disk, options.image.kernel, options.image.initrd]) {
    if (path.includes(",")) throw new DenError("USAGE", `Cannot launch the test guest: path "${path}" contains a comma`);
  }
  if (paths.qmpSocket.length > maxSocketPath) {
    throw new DenError("USAGE", `Cannot launch the test guest: QMP socket path "${paths.qmpSocket}" is too long`, {
      hint: "use a shorter runDir",
    });
  }
  if (!existsSync(seedIso)) throw new DenError("IO", `Cannot launch the test guest: seed ISO "${seedIso}" does not exist`);
  if (!existsSync(paths.overlay)) {
    await runTool(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", options.image.disk, paths.overlay, "10G"]);
  }

  // The free port is only probed, so another process may take it first; QEMU then fails to set up hostfwd and a new
  // port is tried.
  for (let attempt = 1; ; attempt++) {
    const sshPort = await freeTcpPort();
    const args = buildQemuArgs({
      image: options.image,
      seedIso,
      ...(options.runtimeDisk && { runtimeDisk: resolve(options.runtimeDisk) }),
      ...paths,
      sshPort,
      mac,
      memoryMiB: options.memoryMiB ?? 1024,
      cpus: options.cpus ?? 2,
    });
    const child = spawnQemu(args, paths.stderrLog);
    const started = await waitForQmp(child, paths.qmpSocket);
    if (started) return createHandle({ child, runDir, mac, sshPort, ...paths });
    const stderr = readTail(paths.stderrLog, 20);
    if (attempt < portAttempts && /forwarding rule|hostfwd/i.test(stderr)) continue;
    throw new DenError("IO", `Cannot start QEMU: it exited with ${child.exitCode ?? child.signalCode} during startup\n${stderr}`, {
      hint: `see ${paths.stderrLog}`,
      details: { args },
    });
  }
}

// Every QEMU this process started, so none outlives it even when a test forgets stop() or throws.
const liveChildren = new Set<Bun.Subprocess>();
let exitHookInstalled = false;

function spawnQemu(args: string[], stderrLog: string): Bun.Subprocess {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const child of liveChildren) child.kill("SIGKILL");
    });
  }
  // The exit hook does not run when the test process is killed; PR_SET_PDEATHSIG (via setpriv) covers that.
  const prefix = Bun.which("setpriv") ? ["setpriv", "--pdeathsig", "KILL"] : [];
  const stderrFd = openSync(stderrLog, "w");
  try {
    const child = Bun.spawn([...prefix, "qemu-system-x86_64", ...args], {
      stdin: "ignore",
      stdout: stderrFd,
      stderr: stderrFd,
    });
    liveChildren.add(child);
    void child.exited.then(() => liveChildren.delete(child));
    return child;
  } finally {
    closeSync(stderrFd);
  }
}

/** True once QMP answers (QEMU's init, including hostfwd, is done); false if QEMU exits first. */
async function waitForQmp(child: Bun.Subprocess, socket: string): Promise<boolean> {
  const deadline = Date.now() + startupTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    if (existsSync(socket)) {
      try {
        await qmpExecute(socket, "query-status", 5_000);
        return true;
      } catch {
        // The socket file can exist before the monitor accepts commands.
      }
    }
    await Bun.sleep(50);
  }
  child.kill("SIGKILL");
  await child.exited;
  return false;
}

interface HandleState {
  child: Bun.Subprocess;
  runDir: string;
  mac: string;
  sshPort: number;
  serialLog: string;
  qmpSocket: string;
  stderrLog: string;
}

function createHandle(state: HandleState): GuestHandle {
  const { child, sshPort, serialLog } = state;
  let stopping: Promise<void> | undefined;
  const exited = () => child.exitCode !== null || child.signalCode !== null;

  const ssh = (user: string, identityFile: string, command: string) =>
    runSsh({ user, identityFile, command, port: sshPort, killAfterMs: undefined });

  async function waitForSsh(options: WaitForSshOptions): Promise<void> {
    const started = Date.now();
    let lastError = "";
    while (Date.now() - started < options.timeoutMs) {
      if (exited()) {
        throw new DenError("IO", `Cannot reach the guest over ssh: QEMU exited with ${child.exitCode ?? child.signalCode}\n${describeLogs(state, lastError)}`, {
          hint: `see ${serialLog} and ${state.stderrLog}`,
        });
      }
      const probe = await runSsh({ ...options, command: "true", port: sshPort, killAfterMs: 20_000 });
      if (probe.exitCode === 0) return;
      lastError = probe.stderr.trim() || `ssh exited with ${probe.exitCode}`;
      await Bun.sleep(1_000);
    }
    throw new DenError(
      "IO",
      `Cannot reach the guest over ssh: no login as "${options.user}" on 127.0.0.1:${sshPort} within ${Math.round(options.timeoutMs / 1000)}s\n${describeLogs(state, lastError)}`,
      { hint: `see the full serial log at ${serialLog}` },
    );
  }

  function stop(): Promise<void> {
    stopping ??= (async () => {
      const deadline = Date.now() + stopTimeoutMs;
      // An ACPI button press before systemd-logind runs is lost, and a guest still booting is the common case when a
      // test fails, so the press is repeated until the guest acts on it.
      while (!exited() && Date.now() < deadline) {
        try {
          await qmpExecute(state.qmpSocket, "system_powerdown", 5_000);
        } catch {
          // A wedged monitor still gets the signals below.
        }
        if (await exitsWithin(child, Math.min(powerdownRepeatMs, Math.max(0, deadline - Date.now())))) return;
      }
      if (exited()) return;
      child.kill("SIGTERM");
      if (await exitsWithin(child, killGraceMs)) return;
      child.kill("SIGKILL");
      await child.exited;
    })();
    return stopping;
  }

  return {
    sshPort,
    serialLog,
    pid: child.pid,
    runDir: state.runDir,
    mac: state.mac,
    waitForSsh,
    ssh,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function describeLogs(state: HandleState, lastSshError: string): string {
  const serial = readTail(state.serialLog, 40) || "(serial log is empty)";
  return [
    `last ssh error: ${lastSshError || "(none)"}`,
    `--- last lines of ${state.serialLog} ---`,
    serial,
    "--- end of serial log ---",
  ].join("\n");
}

async function exitsWithin(child: Bun.Subprocess, ms: number): Promise<boolean> {
  const timedOut = Symbol("timeout");
  let timer: Timer | undefined;
  const result = await Promise.race([
    child.exited,
    new Promise<typeof timedOut>((done) => {
      timer = setTimeout(() => done(timedOut), ms);
    }),
  ]);
  clearTimeout(timer);
  return result !== timedOut;
}

interface SshRequest {
  user: string;
  identityFile: string;
  command: string;
  port: number;
  killAfterMs: number | undefined;
}

async function runSsh(request: SshRequest): Promise<SshResult> {
  const child = Bun.spawn(
    [
      "ssh",
      "-F", "/dev/null",
      "-o", "StrictHostKeyChecking=no",
      "-o", "UserKnownHostsFile=/dev/null",
      "-o", "IdentitiesOnly=yes",
      "-o", "BatchMode=yes",
      "-o", "LogLevel=ERROR",
      "-o", "ConnectTimeout=10",
      "-i", request.identityFile,
      "-p", String(request.port),
      `${request.user}@127.0.0.1`,
      "--",
      request.command,
    ],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  // slirp accepts the TCP connection before the guest listens, so a probe can hang in the banner exchange.
  const timer = request.killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), request.killAfterMs);
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  clearTimeout(timer);
  return { stdout, stderr, exitCode };
}

/** Runs one QMP command on a fresh connection and returns its `return` value. */
function qmpExecute(socket: string, command: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolvePromise, reject) => {
    const connection = createConnection(socket);
    let buffered = "";
    let phase: "greeting" | "capabilities" | "command" = "greeting";
    const timer = setTimeout(() => fail(new Error(`QMP ${command} timed out`)), timeoutMs);
    function fail(error: Error): void {
      clearTimeout(timer);
      connection.destroy();
      reject(error);
    }
    connection.setEncoding("utf8");
    connection.on("error", fail);
    connection.on("close", () => fail(new Error(`QMP connection closed during ${phase}`)));
    connection.on("data", (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line === "") continue;
        const message = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc?: string }; event?: string };
        if (message.event !== undefined) continue;
        if (message.error !== undefined) return fail(new Error(`QMP ${phase}: ${message.error.desc ?? "error"}`));
        if (phase === "greeting" && message.QMP !== undefined) {
          phase = "capabilities";
          connection.write('{"execute":"qmp_capabilities"}\n');
        } else if (phase === "capabilities" && "return" in message) {
          phase = "command";
          connection.write(`${JSON.stringify({ execute: command })}\n`);
        } else if (phase === "command" && "return" in message) {
          clearTimeout(timer);
          connection.removeAllListeners("close");
          connection.end();
          resolvePromise(message.return);
        }
      }
    });
  });
}

async function runTool(argv: string[]): Promise<void> {
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stderr, exitCode] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  if (exitCode !== 0) {
    throw new DenError("IO", `Cannot run ${argv[0]}: exited with ${exitCode}: ${stderr.trim()}`, { details: { argv } });
  }
}

/** The last `lines` lines of a file without terminal escapes; "" when it is missing. */
function readTail(path: string, lines: number): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "";
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const bytes = Buffer.alloc(length);
    readSync(fd, bytes, 0, length, size - length);
    const text = bytes.toString("utf8").replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } finally {
    closeSync(fd);
  }
}

function randomMac(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  return ["52", "55", "55", ...Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0"))].join(":");
}
