// The guest agent's cost at rest and under memory pressure, on this host (no VM): the real agent
// (`bun agent/main.ts serve --socket PATH`) with the host's client connected as the host agent connects
// (connectGuestAgent), and a separate process holding the listeners, as a guest's services would.
//
// 1. Idle: 50 TCP and 4 UDP listeners open and reported; then each agent's utime+stime (/proc/PID/stat) over the idle
//    window, against an idle `bun -e 'setInterval(() => {}, 1000)'` measured in the same window, with VmRSS and VmHWM.
//    As root the agent runs twice, each in a private mount namespace: once with tracefs mounted (what a Debian guest
//    has: kernel events trigger the scans) and once with tracefs hidden (the 1 s poll fallback).
// 2. Churn: TCP listeners opened and closed one at a time, each change waited for at the host, with the agents' RSS
//    at checkpoints: the memory must level off, not grow with the number of changes.
// 3. Memory pressure (root, a memory cgroup and stress-ng): the agent (oom_score_adj -500 as den-guestagent.service
//    sets, where the host allows it; stress-ng makes its stressors the OOM killer's first choice either way) and
//    `stress-ng --vm` share a memory cgroup whose limit the stressors exceed; the kernel OOM-kills stressors while the
//    bench keeps asking the agent to report new listeners and to carry a stream round trip.
//
// `bun bench/agent-idle.bench.ts [--idle-seconds 30] [--settle-seconds 10] [--cycles 2000] [--pressure-seconds 20]`
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { percentile } from "../lib/mounts/inotify/measure-inotify-latency.ts";
import { type AgentProcess, clockTicksPerSecond, cpuNanoseconds, cpuTicks, hasPorts, processMemory, startAgentProcess, startListenerProcess } from "../tests/agent/agent-process.ts";
import { renderTable } from "./table.ts";

const TcpListeners = 50;
const UdpListeners = 4;
const CpuBudgetPercent = 0.5;
const PressureLimitMiB = 256;
const StressWorkers = 2;
// stress-ng divides --vm-bytes among its workers; half again the limit makes the OOM killer step in.
const StressBytes = `${PressureLimitMiB * 1.5}M`;

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const IdleSeconds = option("idle-seconds", 30);
const Cycles = option("cycles", 2_000);
const PressureSeconds = option("pressure-seconds", 20);
const SettleSeconds = option("settle-seconds", 10);

const isRoot = process.getuid?.() === 0;
const canUnshare = isRoot && Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "true"]).success;
// Each variant runs in its own mount namespace, so the bench neither mounts nor hides anything on the host itself.
const tracefsWrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c", 'mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing; exec "$@"', "sh"];
const pollWrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c", 'for d in /sys/kernel/tracing /sys/kernel/debug; do [ -d "$d" ] && mount -t tmpfs none "$d"; done; exec "$@"', "sh"];

interface Variant {
  label: string;
  agent: AgentProcess;
}

const dir = await mkdtemp(join(tmpdir(), "den-agent-idle-"));
const cleanups: (() => Promise<void> | void)[] = [];
try {
  const holder = startListenerProcess();
  cleanups.push(() => holder.stop());
  const variants: Variant[] = [];
  for (const [name, wrap] of canUnshare ? ([["a", tracefsWrap], ["b", pollWrap]] as const) : ([["a", []]] as const)) {
    const agent = await startAgentProcess(join(dir, `agent-${name}.sock`), { wrap: [...wrap] });
    cleanups.push(() => agent.stop());
    variants.push({ label: `agent, ${triggerOf(agent.pid)} trigger`, agent });
  }
  const baseline = Bun.spawn([process.execPath, "-e", "setInterval(() => {}, 1000)"], { stdin: "ignore", stdout: "ignore", stderr: "inherit" });
  cleanups.push(async () => {
    baseline.kill();
    await baseline.exited;
  });

  // 1. Idle with the listeners open.
  const opened = performance.now();
  const tcpPorts = [...(await holder.open({ proto: "tcp", host: "127.0.0.1" }, TcpListeners / 2)), ...(await holder.open({ proto: "tcp", host: "::" }, TcpListeners / 2))];
  const udpPorts = [...(await holder.open({ proto: "udp", host: "127.0.0.1" }, UdpListeners / 2)), ...(await holder.open({ proto: "udp", host: "::" }, UdpListeners / 2))];
  const seenAfterMs = await Promise.all(
    variants.map(async ({ agent }) => {
      await agent.waitForListeners((listeners) => hasPorts(listeners, "tcp", tcpPorts) && hasPorts(listeners, "udp", udpPorts), 30_000);
      return performance.now() - opened;
    }),
  );
  // An agent runs for the guest's lifetime: the window opens once start-up work (JIT, the first GCs) has settled.
  await Bun.sleep(SettleSeconds * 1_000);
  const measured = [...variants.map(({ label, agent }) => ({ label, pid: agent.pid })), { label: "idle bun -e setInterval (baseline)", pid: baseline.pid }];
  const before = measured.map(({ pid }) => ({ ticks: cpuTicks(pid), ns: cpuNanoseconds(pid) }));
  const windowStart = performance.now();
  await Bun.sleep(IdleSeconds * 1_000);
  const seconds = (performance.now() - windowStart) / 1_000;
  const hz = clockTicksPerSecond();
  const cpuPercent = measured.map(({ pid }, i) => ((cpuTicks(pid) - (before[i] as { ticks: number }).ticks) / hz / seconds) * 100);
  const exactPercent = measured.map(({ pid }, i) => ((cpuNanoseconds(pid) - (before[i] as { ns: number }).ns) / 1e9 / seconds) * 100);
  const baselinePercent = exactPercent[exactPercent.length - 1] as number;
  console.log(`${TcpListeners} TCP + ${UdpListeners} UDP listeners, idle window ${seconds.toFixed(1)} s from ${SettleSeconds} s after all were reported, stat in ticks of 1/${hz} s, schedstat in ns (live threads), × baseline from schedstat, budget ${CpuBudgetPercent} % of a core\n`);
  console.log(
    renderTable(
      ["process", "CPU % (stat)", "CPU % (schedstat)", "× baseline", "VmRSS MiB", "VmHWM MiB", "all seen after ms"],
      measured.map(({ label, pid }, i) => {
        const memory = processMemory(pid);
        const exact = exactPercent[i] as number;
        return [label, (cpuPercent[i] as number).toFixed(3), exact.toFixed(3), baselinePercent > 0 ? (exact / baselinePercent).toFixed(1) : "n/a", memory.rssKiB / 1024, memory.hwmKiB / 1024, i < variants.length ? (seenAfterMs[i] as number).toFixed(0) : "-"];
      }),
    ),
  );
  const over = variants.filter((_, i) => Math.max(cpuPercent[i] as number, exactPercent[i] as number) > CpuBudgetPercent);
  console.log(over.length === 0 ? `\nevery agent within ${CpuBudgetPercent} % of a core` : `\nOVER BUDGET: ${over.map((v) => v.label).join(", ")}`);

  // 2. Churn. Each change is waited for at the first agent (the event-driven one as root); a polling agent sees only
  // the changes that outlast a poll and is reported for its memory alone.
  const churnAgent = (variants[0] as Variant).agent;
  const cycles = triggerOf(churnAgent.pid) === "tracefs" ? Cycles : Math.min(Cycles, 30);
  const checkpoints = new Set([0, ...[1, 2, 3, 4].map((q) => Math.round((cycles * q) / 4))]);
  const churnRows: (string | number)[][] = [];
  const churnStart = performance.now();
  for (let cycle = 0; cycle <= cycles; cycle++) {
    if (checkpoints.has(cycle)) {
      const memories = variants.map(({ agent }) => processMemory(agent.pid));
      churnRows.push([String(cycle), ...memories.flatMap((m) => [m.rssKiB / 1024, m.hwmKiB / 1024])]);
    }
    if (cycle === cycles) break;
    const [port] = (await holder.open({ proto: "tcp", host: "127.0.0.1" }, 1)) as [number];
    await churnAgent.waitForListeners((listeners) => hasPorts(listeners, "tcp", [port]), 10_000);
    await holder.close("tcp", port);
    await churnAgent.waitForListeners((listeners) => !hasPorts(listeners, "tcp", [port]), 10_000);
  }
  const churnSeconds = (performance.now() - churnStart) / 1_000;
  console.log(`\nchurn: ${cycles} open/close cycles of one TCP listener (${cycles * 2} list changes) in ${churnSeconds.toFixed(1)} s, each change waited for at "${variants[0]?.label}"\n`);
  console.log(renderTable(["cycles", ...variants.flatMap(({ label }) => [`${label} VmRSS MiB`, "VmHWM MiB"])], churnRows));

  // 3. Memory pressure.
  // Alone, so that the idle agents' memory is not part of the picture.
  for (const variant of variants) await variant.agent.stop();
  console.log("");
  console.log(await memoryPressure(dir, holder));
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
}

/** "tracefs" when the agent created its tracefs instance (seen through its own mount namespace), else "poll". */
function triggerOf(pid: number): "tracefs" | "poll" {
  for (const root of ["sys/kernel/tracing", "sys/kernel/debug/tracing"]) {
    try {
      if (readdirSync(join(`/proc/${pid}/root`, root, "instances")).some((name) => name.startsWith(`den-ports-${pid}-`))) return "tracefs";
    } catch {
      // Not mounted there, or not ours to read.
    }
  }
  return "poll";
}

interface MemoryCgroup {
  dir: string;
  version: 1 | 2;
}

// A child of the bench's own memory cgroup, so the limit applies within whatever bounds the bench already runs under.
function createMemoryCgroup(): MemoryCgroup | string {
  if (!isRoot) return "not root";
  const own = readFileSync("/proc/self/cgroup", "utf8").split("\n");
  const v2Controllers = existsSync("/sys/fs/cgroup/cgroup.controllers") ? readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8") : "";
  let parent: string;
  let version: 1 | 2;
  if (v2Controllers.split(/\s+/).includes("memory")) {
    parent = join("/sys/fs/cgroup", own.find((line) => line.startsWith("0::"))?.slice(3) ?? "/");
    version = 2;
  } else if (existsSync("/sys/fs/cgroup/memory/cgroup.procs")) {
    parent = join("/sys/fs/cgroup/memory", own.find((line) => /^\d+:memory:/.test(line))?.split(":")[2] ?? "/");
    version = 1;
  } else {
    return "no memory cgroup controller";
  }
  const dir = join(parent, `den-agent-pressure-${process.pid}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, version === 2 ? "memory.max" : "memory.limit_in_bytes"), String(PressureLimitMiB * 1024 * 1024));
  } catch (error) {
    return `cannot create a memory cgroup under ${parent}: ${(error as Error).message}`;
  }
  return { dir, version };
}

function oomKills(cgroup: MemoryCgroup): number {
  const file = join(cgroup.dir, cgroup.version === 2 ? "memory.events" : "memory.oom_control");
  return Number(/^oom_kill (\d+)/m.exec(readFileSync(file, "utf8"))?.[1] ?? Number.NaN);
}

function usageMiB(cgroup: MemoryCgroup): number {
  return Number(readFileSync(join(cgroup.dir, cgroup.version === 2 ? "memory.current" : "memory.usage_in_bytes"), "utf8")) / 1024 / 1024;
}

function majorFaults(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[9]);
}

async function removeCgroup(cgroup: MemoryCgroup): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      rmdirSync(cgroup.dir);
      return;
    } catch {
      await Bun.sleep(100);
    }
  }
}

async function memoryPressure(dir: string, holder: ReturnType<typeof startListenerProcess>): Promise<string> {
  const hasStressNg = Bun.spawnSync(["sh", "-c", "command -v stress-ng"]).success;
  const cgroup = hasStressNg ? createMemoryCgroup() : "stress-ng is not installed (apt-get install stress-ng)";
  if (typeof cgroup === "string") return `memory pressure: not run: ${cgroup}`;
  const procs = join(cgroup.dir, "cgroup.procs");
  const enter = (extra: string) => ["sh", "-c", `echo $$ > ${procs} && ${extra}exec "$@"`, "sh"];
  let agent: AgentProcess | undefined;
  let stress: ReturnType<typeof Bun.spawn> | undefined;
  try {
    agent = await startAgentProcess(join(dir, "agent-pressure.sock"), { wrap: [...enter("echo -500 2>/dev/null >/proc/self/oom_score_adj; "), ...(canUnshare ? tracefsWrap : [])] });
    const label = `agent, ${triggerOf(agent.pid)} trigger`;
    const idleMemory = processMemory(agent.pid);
    const faultsBefore = majorFaults(agent.pid);
    const [echoPort] = (await holder.open({ proto: "tcp", host: "127.0.0.1" }, 1)) as [number];
    await agent.waitForListeners((listeners) => hasPorts(listeners, "tcp", [echoPort]), 10_000);
    stress = Bun.spawn([...enter(""), "stress-ng", "--vm", String(StressWorkers), "--vm-bytes", StressBytes, "--vm-keep", "--timeout", `${PressureSeconds + 30}s`, "--quiet"], { stdout: "ignore", stderr: "ignore" });
    // Wait until the stressors fill the cgroup, so every sample is taken under pressure.
    for (let i = 0; i < 100 && usageMiB(cgroup) < PressureLimitMiB * 0.9; i++) await Bun.sleep(100);
    const detection: number[] = [];
    const roundTrips: number[] = [];
    let failures = 0;
    let lowestRssKiB = Number.POSITIVE_INFINITY;
    const until = performance.now() + PressureSeconds * 1_000;
    while (performance.now() < until) {
      try {
        const [port] = (await holder.open({ proto: "tcp", host: "127.0.0.1" }, 1)) as [number];
        const opened = performance.now();
        await agent.waitForListeners((listeners) => hasPorts(listeners, "tcp", [port]), 10_000);
        detection.push(performance.now() - opened);
        await holder.close("tcp", port);
        const sent = performance.now();
        await echo(await agent.client.openStream({ kind: "tcp", host: "127.0.0.1", port: echoPort }), 4096);
        roundTrips.push(performance.now() - sent);
      } catch {
        failures++;
      }
      lowestRssKiB = Math.min(lowestRssKiB, processMemory(agent.pid).rssKiB);
      await Bun.sleep(200);
    }
    const alive = (await Promise.race([agent.exited, Bun.sleep(0).then(() => "running")])) === "running";
    const rows: (string | number)[][] = [
      ["cgroup limit (agent + stress-ng, no swap)", `${PressureLimitMiB} MiB (cgroup v${cgroup.version})`],
      ["stressors", `stress-ng --vm ${StressWorkers} --vm-bytes ${StressBytes} --vm-keep`],
      ["cgroup usage at the end", `${usageMiB(cgroup).toFixed(0)} MiB`],
      ["OOM kills in the cgroup", String(oomKills(cgroup))],
      ["agent oom_score_adj (-500 refused where negative values are not allowed)", readFileSync(`/proc/${agent.pid}/oom_score_adj`, "utf8").trim()],
      [`${label} still running`, alive ? "yes" : "NO"],
      ["new listener reported, p50 / max ms", `${percentile(detection, 0.5).toFixed(1)} / ${Math.max(...detection).toFixed(1)} (${detection.length} samples)`],
      ["stream round trip 4 KiB, p50 / max ms", `${percentile(roundTrips, 0.5).toFixed(1)} / ${Math.max(...roundTrips).toFixed(1)} (${roundTrips.length} samples)`],
      ["failed samples", String(failures)],
      ["agent VmRSS MiB idle / lowest under pressure / now", `${(idleMemory.rssKiB / 1024).toFixed(1)} / ${(lowestRssKiB / 1024).toFixed(1)} / ${(processMemory(agent.pid).rssKiB / 1024).toFixed(1)}`],
      ["agent major faults during pressure", String(majorFaults(agent.pid) - faultsBefore)],
    ];
    return `memory pressure for ${PressureSeconds} s\n\n${renderTable(["what", "value"], rows)}`;
  } finally {
    if (stress) {
      stress.kill("SIGTERM");
      await stress.exited;
    }
    await agent?.stop();
    await removeCgroup(cgroup);
  }
}

/** Writes `bytes` to an echoing stream and resolves once they all came back. */
function echo(stream: Duplex, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0;
    stream.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received < bytes) return;
      stream.destroy();
      resolve();
    });
    stream.once("error", reject);
    stream.once("close", () => received < bytes && reject(new Error("the stream closed early")));
    stream.write(Buffer.alloc(bytes, 1));
  });
}
