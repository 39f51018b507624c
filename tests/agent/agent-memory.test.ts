// The real agent process with its memory bounded: it must start, report a listener that appears later and carry a
// stream inside the bound, as it must in a guest short of memory. The bound is RLIMIT_AS (`ulimit -v`), which any user
// can set; bench/agent-idle.bench.ts adds the cgroup limit with stress-ng's pressure, which needs root.
import { afterEach, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { type AgentProcess, hasPorts, type ListenerProcess, processMemory, startAgentProcess, startListenerProcess } from "./agent-process.ts";

// Bun 1.4 needs about 384 MiB of address space for the agent (measured: 256 MiB aborts at start); this leaves room.
const AddressSpaceMiB = 512;
// The agent's peak resident set is about 50-65 MiB (bench/agent-idle.bench.ts); twice that means something leaks.
const MaxPeakMiB = 128;

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

test(`the agent process serves, reports a new listener and carries a stream with ${AddressSpaceMiB} MiB of address space`, async () => {
  const dir = await mkdtemp(join(tmpdir(), "den-agent-memory-"));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const holder: ListenerProcess = startListenerProcess();
  cleanup.push(() => holder.stop());
  const agent: AgentProcess = await startAgentProcess(join(dir, "agent.sock"), { wrap: ["sh", "-c", `ulimit -v ${AddressSpaceMiB * 1024} && exec "$@"`, "sh"] });
  cleanup.push(() => agent.stop());

  const [port] = (await holder.open({ proto: "tcp", host: "127.0.0.1" }, 1)) as [number];
  // The poll fallback (no tracefs for an unprivileged agent) sees it within a second.
  await agent.waitForListeners((listeners) => hasPorts(listeners, "tcp", [port]), 5_000);
  const stream = await agent.client.openStream({ kind: "tcp", host: "127.0.0.1", port });
  expect(await echo(stream, "ping")).toBe("ping");

  expect(readFileSync(`/proc/${agent.pid}/limits`, "latin1")).toMatch(new RegExp(`^Max address space\\s+${AddressSpaceMiB * 1024 * 1024}\\s`, "m"));
  expect(processMemory(agent.pid).hwmKiB / 1024).toBeLessThan(MaxPeakMiB);
}, 30_000);

function echo(stream: Duplex, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = "";
    stream.on("data", (chunk: Buffer) => {
      received += chunk.toString();
      if (received.length < text.length) return;
      stream.destroy();
      resolve(received);
    });
    stream.once("error", reject);
    stream.write(text);
  });
}
