// A stand-in for den-vz-helper on a Linux host: it speaks the helper control protocol (drivers/vz/helper/PROTOCOL.md)
// on stdin/stdout and runs the machine described by `create` with QEMU instead of Virtualization.framework, so the VZ
// driver's TypeScript side runs end to end where no Mac is. The mapping: raw disks → virtio-blk drives, EFI boot → the
// firmware den's QEMU driver finds (its variable store copied to `variableStorePath`), virtio-fs shares → one
// virtiofsd per tag, NAT → slirp, the tcp vsock forward to guest port 22 → a slirp hostfwd, the unix vsock forward to
// guest port 2222 → the virtio-serial port io.den.agent.0 with its chardev socket at that path (the guest agent uses
// the virtio port when there is one), pause/resume/stop → QMP, and state events from QMP's events.
//
//   bun vz-standin-helper.ts serve [-pidfile PATH]     (DEN_QEMU_ACCEL picks kvm or tcg; default kvm when usable)
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { limaArch } from "../../../../lib/config/host-info.ts";
import { isFileSync } from "../../../../lib/fs/quiet-stat.ts";
import { virtiofsdCandidates, virtiofsdCommand, virtiofsdFlavour } from "../../../../lib/mounts/virtiofsd-command.ts";
import { findFirmware } from "../../../../drivers/qemu/firmware.ts";
import { GuestAgentPortName, qemuBinary } from "../../../../drivers/qemu/qemu-args.ts";
import { connectQmp, type QmpClient } from "../../../../drivers/qemu/qmp-client.ts";
import {
  CreateParamsSchema,
  type HelperErrorCode,
  HelperProtocolVersion,
  HelloParamsSchema,
  MaxLineBytes,
  RequestSchema,
  StopParamsSchema,
  type VmConfig,
  type VmState,
} from "../../../../drivers/vz/helper-protocol.ts";

const Version = "0.0.0-standin";

class HelperFailure extends Error {
  constructor(
    readonly code: HelperErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const argv = process.argv.slice(2);
if (argv[0] === "--version") {
  console.log(`den-vz-helper ${Version} protocol ${HelperProtocolVersion}`);
  process.exit(0);
}
if (argv[0] !== "serve") {
  console.error("usage: vz-standin-helper serve [-pidfile PATH]");
  process.exit(2);
}

const log = (line: string): void => void process.stderr.write(`standin: ${line}\n`);
let state: VmState = "stopped";
let helloDone = false;
let config: VmConfig | undefined;
let qemu: ChildProcess | undefined;
let qemuExit: Promise<void> | undefined;
let qmp: QmpClient | undefined;
let stopping = false;
let stdinClosed = false;
const daemons: ChildProcess[] = [];
let out = Promise.resolve();

function send(message: unknown): Promise<void> {
  const line = `${JSON.stringify(message)}\n`;
  out = out.then(
    () =>
      new Promise<void>((resolve) => {
        if (process.stdout.write(line)) resolve();
        else process.stdout.once("drain", () => resolve());
      }),
  );
  return out;
}

function setState(next: VmState, reason?: string): void {
  if (state === next) return;
  state = next;
  void send({ event: "state", state: next, ...(reason && { reason }) });
}

async function finish(code: number): Promise<never> {
  for (const daemon of daemons) daemon.kill("SIGTERM");
  await out;
  process.exit(code);
}

async function handle(line: string): Promise<void> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return log("dropped a line that is not JSON (BAD_REQUEST)");
  }
  const request = RequestSchema.safeParse(parsed);
  if (!request.success) {
    const id = (parsed as { id?: unknown } | null)?.id;
    if (typeof id === "number" && Number.isInteger(id) && id >= 0) return void send({ id, error: { code: "BAD_REQUEST", message: "not a request of protocol 1" } });
    return log("dropped a message that is not a request (BAD_REQUEST)");
  }
  const { id, method, params } = request.data;
  try {
    const result = await call(method, params);
    await send({ id, result });
  } catch (error) {
    const failure = error instanceof HelperFailure ? error : new HelperFailure("INTERNAL", String(error));
    await send({ id, error: { code: failure.code, message: failure.message } });
  }
  // The VM is gone once stop answered: the helper's work is done.
  if (method === "stop" && stopping) await finish(0);
}

async function call(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (method !== "hello" && !helloDone) throw new HelperFailure("BAD_REQUEST", "hello must come first");
  switch (method) {
    case "hello": {
      const { protocolVersion } = parse(HelloParamsSchema, params);
      if (protocolVersion !== HelperProtocolVersion) throw new HelperFailure("UNSUPPORTED_PROTOCOL", `this helper speaks protocol ${HelperProtocolVersion}, not ${protocolVersion}`);
      helloDone = true;
      return { protocolVersion: HelperProtocolVersion, helperVersion: Version, macosVersion: null, capabilities: { rosetta: "unsupported", nestedVirtualization: false } };
    }
    case "create": {
      if (config) throw new HelperFailure("BAD_STATE", "the machine was already created");
      const next = parse(CreateParamsSchema, params).config;
      if (next.rosetta) throw new HelperFailure("UNSUPPORTED", "Rosetta is not available in the QEMU stand-in");
      if (next.nestedVirtualization) throw new HelperFailure("UNSUPPORTED", "nested virtualization is not available in the QEMU stand-in");
      for (const forward of next.vsockForwards.unix) {
        if (forward.guestPort !== 2222) throw new HelperFailure("INVALID_CONFIG", `the stand-in forwards unix sockets to guest port 2222 only, not ${forward.guestPort}`);
      }
      for (const disk of next.disks) if (!existsSync(disk.path)) throw new HelperFailure("INVALID_CONFIG", `disk "${disk.path}" does not exist`);
      for (const share of next.shares) if (!existsSync(share.hostPath)) throw new HelperFailure("INVALID_CONFIG", `share "${share.hostPath}" does not exist`);
      if (!existsSync(next.machineIdentifierPath)) writeFileSync(next.machineIdentifierPath, crypto.getRandomValues(new Uint8Array(16)));
      config = next;
      return {};
    }
    case "start": {
      if (!config) throw new HelperFailure("BAD_STATE", "create the machine first");
      if (qemu) throw new HelperFailure("BAD_STATE", "the VM was already started");
      await startQemu(config);
      return {};
    }
    case "stop": {
      const { graceful, timeoutMs } = parse(StopParamsSchema, params);
      if (!qemu || !qemuExit) {
        stopping = true;
        return { forced: false };
      }
      stopping = true;
      setState("stopping");
      let forced = !graceful;
      if (graceful && qmp) {
        await qmp.systemPowerdown().catch(() => undefined);
            const gone: boolean = await Promise.race([qemuExit.then(() => true), Bun.sleep(timeoutMs).then(() => false)]);
        forced = !gone;
      }
      if (forced) qemu.kill("SIGKILL");
      await qemuExit;
      return { forced };
    }
    case "pause":
    case "resume": {
      if (!qmp || (state !== "running" && state !== "paused")) throw new HelperFailure("BAD_STATE", `cannot ${method} a VM that is ${state}`);
      if (method === "pause") await qmp.stop();
      else await qmp.cont();
      setState(method === "pause" ? "paused" : "running");
      return {};
    }
    case "state":
      return { state };
    default:
      throw new HelperFailure("BAD_REQUEST", `unknown method "${method}"`);
  }
}

function parse<T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { message: string } } }, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new HelperFailure("INVALID_CONFIG", result.error.message);
  return result.data;
}

async function startQemu(vm: VmConfig): Promise<void> {
  setState("starting");
  const arch = limaArch(process.arch);
  const binary = Bun.which(qemuBinary(arch, process.env)) ?? qemuBinary(arch, process.env);
  const work = dirname(vm.machineIdentifierPath);
  const qmpSock = join(work, "standin-qmp.sock");
  const memoryMiB = Math.floor(vm.memoryBytes / 2 ** 20);
  const accel = process.env.DEN_QEMU_ACCEL ?? (existsSync("/dev/kvm") ? "kvm" : "tcg");
  const args = ["-name", "den-vz-standin", "-m", String(memoryMiB), "-smp", String(vm.cpus), "-cpu", accel === "tcg" ? "max" : "host"];
  if (vm.shares.length > 0) args.push("-object", `memory-backend-memfd,id=mem,size=${memoryMiB}M,share=on`, "-numa", "node,memdev=mem");
  args.push(...(arch === "aarch64" ? ["-machine", "virt", "-accel", accel] : ["-machine", "q35,vmport=off", "-accel", accel]));
  if (vm.boot.kind === "linux") {
    args.push("-kernel", vm.boot.kernelPath, "-append", vm.boot.commandLine);
    if (vm.boot.initrdPath) args.push("-initrd", vm.boot.initrdPath);
  } else {
    const firmware = findFirmware(arch, { exists: isFileSync, qemuBinary: binary, home: homedir() });
    if (!firmware) throw new HelperFailure("VZ_ERROR", `no UEFI firmware for ${arch} on this host`);
    if (firmware.vars && !existsSync(vm.boot.variableStorePath)) copyFileSync(firmware.vars, vm.boot.variableStorePath);
    args.push("-drive", `if=pflash,format=raw,readonly=on,file=${firmware.code}`);
    if (firmware.vars) args.push("-drive", `if=pflash,format=raw,file=${vm.boot.variableStorePath}`);
  }
  for (const disk of vm.disks) args.push("-drive", `file=${disk.path},if=virtio,format=raw${disk.readOnly ? ",readonly=on" : ""}`);
  for (const [i, network] of vm.networks.entries()) {
    const forwards = i === 0 ? vm.vsockForwards.tcp.map((forward) => `,hostfwd=tcp:${forward.hostIP}:${forward.hostPort}-:${forward.guestPort}`).join("") : "";
    args.push("-netdev", `user,id=net${i}${forwards}`, "-device", `virtio-net-pci,netdev=net${i},mac=${network.macAddress}`);
  }
  args.push("-device", "virtio-rng-pci", "-display", "none", "-vga", "none", "-parallel", "none");
  args.push("-chardev", `file,id=char-serial,path=${vm.serialLogPath},append=on`, "-serial", "chardev:char-serial");
  if (vm.vsockForwards.unix.length > 0) {
    args.push("-device", "virtio-serial-pci,id=virtio-serial0");
    for (const [i, forward] of vm.vsockForwards.unix.entries()) {
      await rm(forward.path, { force: true });
      args.push("-chardev", `socket,id=char-ga${i},path=${forward.path},server=on,wait=off`);
      args.push("-device", `virtserialport,bus=virtio-serial0.0,chardev=char-ga${i},name=${GuestAgentPortName}`);
    }
  }
  for (const [i, share] of vm.shares.entries()) {
    const socketPath = join(work, `standin-vfs-${i}.sock`);
    await startVirtiofsd(share.hostPath, socketPath);
    args.push("-chardev", `socket,id=char-vfs${i},path=${socketPath}`, "-device", `vhost-user-fs-pci,queue-size=1024,chardev=char-vfs${i},tag=${share.tag}`);
  }
  if (vm.balloon) args.push("-device", "virtio-balloon-pci");
  await rm(qmpSock, { force: true });
  args.push("-qmp", `unix:${qmpSock},server=on,wait=off`);
  log(`${binary} ${args.join(" ")}`);
  const child = spawn(...orphanSafe([binary, ...args]), { stdio: ["ignore", "inherit", "inherit"] });
  qemu = child;
  qemuExit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  void qemuExit.then(async () => {
    const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode}`;
    if (stopping || child.exitCode === 0) {
      setState("stopped", stopping ? "stopped by den" : "the guest powered off");
      // A stop request in progress answers first and then ends the helper (see handle()).
      if (!stopping || stdinClosed) await finish(0);
      return;
    }
    await send({ event: "error", code: "VZ_ERROR", message: `QEMU ${how}` });
    setState("error", `QEMU ${how}`);
    await finish(1);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new HelperFailure("VZ_ERROR", "QEMU exited before its QMP socket answered");
    try {
      qmp = await connectQmp(qmpSock, { timeoutMs: 2000 });
      break;
    } catch (error) {
      if (Date.now() > deadline) throw new HelperFailure("VZ_ERROR", `QEMU's QMP socket did not answer: ${String(error)}`);
      await Bun.sleep(100);
    }
  }
  qmp.onEvent((event) => {
    if (event.event === "STOP" && !stopping) setState("paused");
    else if (event.event === "RESUME") setState("running");
    else if (event.event === "SHUTDOWN") setState("stopping");
  });
  setState("running");
}

/**
 * The real helper runs the VM in its own process, so `den stop -f` (SIGKILL to the pid in vz.pid) ends it. The
 * stand-in's QEMU and virtiofsd are children: util-linux `setpriv --pdeathsig` makes them die with it.
 */
function orphanSafe(command: readonly string[]): [string, string[]] {
  const setpriv = Bun.which("setpriv");
  const argv = setpriv ? [setpriv, "--pdeathsig", "KILL", "--", ...command] : [...command];
  return [argv[0] as string, argv.slice(1)];
}

async function startVirtiofsd(location: string, socketPath: string): Promise<void> {
  const path = virtiofsdCandidates(process.env).find((candidate) => isFileSync(candidate));
  if (!path) throw new HelperFailure("VZ_ERROR", "virtiofsd is not installed");
  const version = Bun.spawnSync([path, "--version"]);
  const flavour = virtiofsdFlavour(`${version.stdout.toString()}${version.stderr.toString()}`);
  mkdirSync(dirname(socketPath), { recursive: true });
  await rm(socketPath, { force: true });
  // Run as the helper's user without a namespace: the stand-in maps no owners (VZ's virtio-fs does not either).
  const command = virtiofsdCommand({ binary: { path, flavour }, socketPath, location, guest: { uid: 0, gid: 0 }, unshare: undefined });
  const child = spawn(...orphanSafe(command), { stdio: ["ignore", "inherit", "inherit"] });
  daemons.push(child);
  const deadline = Date.now() + 10_000;
  while (!existsSync(socketPath)) {
    if (child.exitCode !== null) throw new HelperFailure("VZ_ERROR", `virtiofsd for "${location}" exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new HelperFailure("VZ_ERROR", `virtiofsd for "${location}" did not create its socket`);
    await Bun.sleep(100);
  }
}

// stdin: JSON lines, each at most MaxLineBytes; EOF means the host agent is gone, so the VM goes too.
let pending = "";
let skipping = false;
const decoder = new TextDecoder();
for await (const chunk of Bun.stdin.stream()) {
  pending += decoder.decode(chunk as Uint8Array, { stream: true });
  for (let newline = pending.indexOf("\n"); newline >= 0; newline = pending.indexOf("\n")) {
    const line = pending.slice(0, newline);
    pending = pending.slice(newline + 1);
    if (skipping) {
      skipping = false;
      continue;
    }
    if (line.trim() !== "") void handle(line);
  }
  if (Buffer.byteLength(pending) > MaxLineBytes) {
    log("dropped a line longer than 1 MiB");
    void send({ id: 0, error: { code: "BAD_REQUEST", message: "line too long" } });
    pending = "";
    skipping = true;
  }
}
log("stdin closed; stopping the VM");
stdinClosed = true;
stopping = true;
qemu?.kill("SIGKILL");
if (qemuExit) await qemuExit;
await finish(0);
