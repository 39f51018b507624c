// Measures how the guest agent's listener detection performs in the real test guest, for each mechanism, so the
// choice in agent/ports/watch-listeners.ts rests on numbers. Two halves in one file:
//
//   bun scripts/measure-listener-detection.ts [--idle-seconds 60] [--only NAME,...]
//     On the host: boots the e2e test guest under TCG (one VM, always stopped), compiles this file for linux-x64,
//     copies it in and runs the guest half as root. Prints one JSON object per mechanism and a table.
//   measure-listener-detection guest [--idle-seconds 60] [--only NAME,...]
//     In the guest: for each mechanism, python3 opens 50 listeners one by one (TCP and UDP, IPv4, IPv6 and
//     dual-stack, 200-300 ms apart); latency is from the moment listen()/bind() returned (CLOCK_MONOTONIC in python)
//     to the moment onChange reported the port (CLOCK_MONOTONIC here). Then, with the 50 listeners open, the
//     process's own utime+stime over the idle period gives the idle CPU. Then the listeners close one by one (close
//     latency). Scan cost is the mean time of one full scan with the 50 listeners open.
//
// bench/ports can run the guest half the same way (copy the compiled binary, run `guest`, parse the JSON lines that
// start with `{"mechanism"`).
import { dlopen, FFIType, ptr } from "bun:ffi";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { GuestListener } from "../agent/protocol/messages.ts";
import { scanProcNet } from "../agent/ports/scan-proc-net.ts";
import { openSockDiagScanner } from "../agent/ports/scan-sock-diag.ts";
import { watchListeners, type WatchListenersOptions } from "../agent/ports/watch-listeners.ts";
import { percentile } from "../lib/mounts/inotify/measure-inotify-latency.ts";
import { run } from "../lib/process/run.ts";
import { streamLines } from "../lib/text/stream-lines.ts";

export interface MechanismResult {
  mechanism: string;
  trigger: string;
  listeners: number;
  openLatencyMs: { p50: number; p99: number; max: number; missed: number };
  openLatencyP50MsByProto: { tcp: number; udp: number };
  closeLatencyMs: { p50: number; p99: number; max: number; missed: number };
  idleCpuPercent: number;
  idleSeconds: number;
}

interface Mechanism {
  name: string;
  options: () => WatchListenersOptions;
}

const listenerCount = 50;
const basePort = 42000;

function mechanisms(): Mechanism[] {
  const sockDiagScan = (): (() => GuestListener[]) => {
    const scanner = openSockDiagScanner();
    return () => scanner.scan();
  };
  return [
    { name: "bun-idle-baseline", options: () => ({ trigger: "poll", pollIntervalMs: 3_600_000, scan: () => [] }) },
    { name: "poll-procfs-50ms", options: () => ({ trigger: "poll", pollIntervalMs: 50, scan: () => scanProcNet() }) },
    { name: "poll-procfs-100ms", options: () => ({ trigger: "poll", pollIntervalMs: 100, scan: () => scanProcNet() }) },
    { name: "poll-sockdiag-50ms", options: () => ({ trigger: "poll", pollIntervalMs: 50, scan: sockDiagScan() }) },
    { name: "poll-sockdiag-100ms", options: () => ({ trigger: "poll", pollIntervalMs: 100, scan: sockDiagScan() }) },
    { name: "tracefs-procfs", options: () => ({ trigger: "tracefs", scan: () => scanProcNet() }) },
    { name: "tracefs-sockdiag", options: () => ({ trigger: "tracefs", scan: sockDiagScan() }) },
  ];
}

// Opens the listeners on command and reports CLOCK_MONOTONIC right after each listen()/bind() returned.
const opener = `
import socket, sys, time, random, json
kinds = [("tcp", socket.AF_INET, "0.0.0.0"), ("udp", socket.AF_INET, "127.0.0.1"), ("tcp", socket.AF_INET6, "::"),
         ("udp", socket.AF_INET6, "::1"), ("tcp", socket.AF_INET, "127.0.0.1"), ("udp", socket.AF_INET6, "::")]
count, base = int(sys.argv[1]), int(sys.argv[2])
socks = []
time.sleep(1)
for i in range(count):
    proto, family, addr = kinds[i % len(kinds)]
    s = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, base + i))
    if proto == "tcp": s.listen()
    t = time.monotonic_ns()
    socks.append((proto, base + i, s))
    print(json.dumps({"event": "open", "proto": proto, "port": base + i, "t": t}), flush=True)
    time.sleep(random.uniform(0.2, 0.3))
print(json.dumps({"event": "ready"}), flush=True)
sys.stdin.readline()
for proto, port, s in socks:
    s.close()
    print(json.dumps({"event": "close", "proto": proto, "port": port, "t": time.monotonic_ns()}), flush=True)
    time.sleep(random.uniform(0.2, 0.3))
print(json.dumps({"event": "done"}), flush=True)
`;

const libc = () =>
  dlopen("libc.so.6", { clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 } });

async function measureGuest(options: { idleSeconds: number; only: string[] | undefined }): Promise<void> {
  const clock = libc();
  const timespec = new BigInt64Array(2);
  const monotonicNs = (): bigint => {
    clock.symbols.clock_gettime(1, ptr(timespec));
    return (timespec[0] ?? 0n) * 1_000_000_000n + (timespec[1] ?? 0n);
  };
  const clockTicks = 100;
  const ownCpuTicks = (): number => {
    const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ") ?? [];
    return Number(fields[11]) + Number(fields[12]);
  };

  for (const mechanism of mechanisms()) {
    if (options.only !== undefined && !options.only.includes(mechanism.name)) continue;
    try {
      console.log(JSON.stringify(await measureMechanism(mechanism, { ...options, monotonicNs, ownCpuTicks, clockTicks })));
    } catch (error) {
      console.log(JSON.stringify({ mechanism: mechanism.name, error: String(error) }));
    }
  }
  await measureScanCost();
  // Every trigger must have removed its tracefs instance and kprobe by now.
  await Bun.sleep(1_000);
  const leftovers = Bun.spawnSync(["sh", "-c", "ls /sys/kernel/tracing/instances; grep den_ports /sys/kernel/tracing/kprobe_events"]);
  console.log(JSON.stringify({ tracefsLeftovers: leftovers.stdout.toString().trim() }));
}

interface MeasureContext {
  idleSeconds: number;
  monotonicNs: () => bigint;
  ownCpuTicks: () => number;
  clockTicks: number;
}

async function measureMechanism(mechanism: Mechanism, context: MeasureContext): Promise<MechanismResult> {
  const { idleSeconds, monotonicNs, ownCpuTicks, clockTicks } = context;
  const appeared = new Map<string, bigint>();
  const gone = new Map<string, bigint>();
  let previous = new Set<string>();
  const watch = watchListeners((listeners) => {
    const now = monotonicNs();
    const keys = new Set(listeners.map((listener) => `${listener.proto}:${listener.port}`));
    for (const key of keys) if (!previous.has(key) && !appeared.has(key)) appeared.set(key, now);
    for (const key of previous) if (!keys.has(key) && !gone.has(key)) gone.set(key, now);
    previous = keys;
  }, { ...mechanism.options(), onError: (error) => console.error(`${mechanism.name}: ${String(error)}`) });

  const child = Bun.spawn(["python3", "-c", opener, String(listenerCount), String(basePort)], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const opened = new Map<string, bigint>();
  const closed = new Map<string, bigint>();
  let idleCpuPercent = Number.NaN;
  const lines = streamLines(child.stdout);
  for await (const line of lines) {
    const event = JSON.parse(line) as { event: string; proto?: string; port?: number; t?: number };
    if (event.event === "open") opened.set(`${event.proto}:${event.port}`, BigInt(event.t ?? 0));
    if (event.event === "close") closed.set(`${event.proto}:${event.port}`, BigInt(event.t ?? 0));
    if (event.event === "ready") {
      // Let the last detection settle before counting idle ticks.
      await Bun.sleep(2_000);
      const before = ownCpuTicks();
      const started = performance.now();
      await Bun.sleep(idleSeconds * 1000);
      const seconds = (performance.now() - started) / 1000;
      idleCpuPercent = ((ownCpuTicks() - before) / clockTicks / seconds) * 100;
      child.stdin.write("close\n");
      child.stdin.flush();
    }
    if (event.event === "done") break;
  }
  await Bun.sleep(2_500);
  watch.stop();
  await child.exited;
  const result: MechanismResult = {
    mechanism: mechanism.name,
    trigger: watch.trigger,
    listeners: listenerCount,
    openLatencyMs: latencies(opened, appeared),
    openLatencyP50MsByProto: {
      tcp: latencies(new Map([...opened].filter(([key]) => key.startsWith("tcp:"))), appeared).p50,
      udp: latencies(new Map([...opened].filter(([key]) => key.startsWith("udp:"))), appeared).p50,
    },
    closeLatencyMs: latencies(closed, gone),
    idleCpuPercent: Number(idleCpuPercent.toFixed(3)),
    idleSeconds,
  };
  return result;
}

async function measureScanCost(): Promise<void> {
  // Scan cost: with 50 listeners open, time each scanner directly.
  const child = Bun.spawn(["python3", "-c", opener.replace("random.uniform(0.2, 0.3)", "0"), String(listenerCount), String(basePort)], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const lines = streamLines(child.stdout);
  for await (const line of lines) if (line.includes('"ready"')) break;
  const sockDiag = openSockDiagScanner();
  for (const [name, scan] of [["procfs", () => scanProcNet()], ["sockdiag", () => sockDiag.scan()]] as const) {
    const found = scan().length;
    const rounds = 200;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) scan();
    const perScanUs = ((performance.now() - started) / rounds) * 1000;
    console.log(JSON.stringify({ scan: name, found, perScanUs: Math.round(perScanUs) }));
  }
  sockDiag.close();
  child.kill();
  await child.exited;
}

function latencies(started: Map<string, bigint>, seen: Map<string, bigint>): MechanismResult["openLatencyMs"] {
  const values: number[] = [];
  let missed = 0;
  for (const [key, t] of started) {
    const at = seen.get(key);
    if (at === undefined) missed++;
    else values.push(Math.max(0, Number(at - t) / 1e6));
  }
  const pick = (q: number): number => Number(percentile(values, q).toFixed(1));
  return { p50: pick(0.5), p99: pick(0.99), max: pick(1), missed };
}

async function measureOnHost(args: string[]): Promise<void> {
  const { ensureGuestImage } = await import("../tests/e2e/support/guest-image.ts");
  const { launchGuest } = await import("../tests/e2e/support/qemu-launch.ts");
  const root = resolve(import.meta.dir, "..");
  const dir = await mkdtemp(join(tmpdir(), "den-listeners-"));
  try {
    const binary = join(dir, "measure-listener-detection");
    await mustRun(["bun", "build", "--compile", "--target=bun-linux-x64", join(root, "scripts/measure-listener-detection.ts"), "--outfile", binary]);
    const image = await ensureGuestImage();
    const identityFile = join(dir, "id_ed25519");
    const mac = "52:55:55:12:34:78";
    const seedIso = await writeSeed(dir, identityFile, mac);
    await using guest = await launchGuest({ image, seedIso, runDir: join(dir, "run"), mac });
    await guest.waitForSsh({ user, identityFile, timeoutMs: 300_000 });
    await guest.ssh(user, identityFile, "cloud-init status --wait >/dev/null");
    const sshOptions = ["-i", identityFile, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"];
    await mustRun(["scp", ...sshOptions, "-P", String(guest.sshPort), binary, `${user}@127.0.0.1:/tmp/measure`]);
    const kernel = await guest.ssh(user, identityFile, "uname -r; nproc");
    console.log(`guest kernel ${kernel.stdout.trim().replace("\n", ", cpus ")}`);
    const child = Bun.spawn(["ssh", ...sshOptions, "-p", String(guest.sshPort), `${user}@127.0.0.1`, "sudo", "/tmp/measure", "guest", ...args], {
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
    });
    await child.exited;
    await guest.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const user = "den-measure";

async function writeSeed(dir: string, identityFile: string, mac: string): Promise<string> {
  await mustRun(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", user, "-f", identityFile]);
  const publicKey = (await readFile(`${identityFile}.pub`, "utf8")).trim();
  const seedDir = join(dir, "seed");
  await mkdir(seedDir);
  const files = {
    "user-data": `#cloud-config\nusers:\n  - name: ${user}\n    shell: /bin/bash\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    lock_passwd: true\n    ssh_authorized_keys:\n      - ${publicKey}\n`,
    "meta-data": `instance-id: iid-den-measure-${Date.now()}\nlocal-hostname: den-measure\n`,
    "network-config": `version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: '${mac}'\n    dhcp4: true\n    set-name: eth0\n`,
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(seedDir, name), text);
  const seedIso = join(dir, "cidata.iso");
  await mustRun(["genisoimage", "-quiet", "-output", seedIso, "-volid", "cidata", "-joliet", "-rock", ...Object.keys(files).map((name) => join(seedDir, name))]);
  return seedIso;
}

async function mustRun(argv: string[]): Promise<void> {
  const result = await run(argv);
  if (result.code !== 0) throw new Error(`${argv.join(" ")} exited with ${result.code ?? result.signal}: ${result.stderrTail}`);
}

function parseArgs(args: string[]): { idleSeconds: number; only: string[] | undefined } {
  const idle = args.indexOf("--idle-seconds");
  const only = args.indexOf("--only");
  return {
    idleSeconds: idle >= 0 ? Number(args[idle + 1]) : 60,
    only: only >= 0 ? args[only + 1]?.split(",") : undefined,
  };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args[0] === "guest") await measureGuest(parseArgs(args.slice(1)));
  else await measureOnHost(args);
}
