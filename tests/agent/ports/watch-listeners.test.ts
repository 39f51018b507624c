import { expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GuestListener } from "../../../agent/protocol/messages.ts";
import type { SockDiagScanner } from "../../../agent/ports/scan-sock-diag.ts";
import { type ListenerScanner, watchListeners } from "../../../agent/ports/watch-listeners.ts";

const tcp = (ip: string, port: number): GuestListener => ({ proto: "tcp", ip, port });
const udp = (ip: string, port: number): GuestListener => ({ proto: "udp", ip, port });

// A scanner that returns each list of `steps` in turn and then keeps returning the last one.
function scripted(steps: GuestListener[][]): () => GuestListener[] {
  let index = 0;
  return () => {
    const step = steps[Math.min(index, steps.length - 1)] ?? [];
    index++;
    return step;
  };
}

test("watchListeners() reports the normalized list synchronously at start", () => {
  const calls: GuestListener[][] = [];
  const watch = watchListeners((listeners) => calls.push(listeners), {
    trigger: "poll",
    pollIntervalMs: 60_000,
    scan: () => [udp("0.0.0.0", 53), tcp("::", 80), tcp("::", 80), tcp("0.0.0.0", 22)],
  });
  watch.stop();
  expect(calls).toEqual([[tcp("0.0.0.0", 22), tcp("::", 80), udp("0.0.0.0", 53)]]);
  expect({ trigger: watch.trigger, scanner: watch.scanner }).toEqual({ trigger: "poll", scanner: "custom" });
});

test.each<{ name: string; steps: GuestListener[][]; want: GuestListener[][] }>([
  {
    name: "reports each change once and ignores scans without change",
    steps: [[], [], [tcp("0.0.0.0", 8080)], [tcp("0.0.0.0", 8080)], [tcp("0.0.0.0", 8080), udp("::", 5353)], []],
    want: [[], [tcp("0.0.0.0", 8080)], [tcp("0.0.0.0", 8080), udp("::", 5353)], []],
  },
  {
    name: "treats a reordered scan as no change",
    steps: [[tcp("::1", 1), tcp("127.0.0.1", 2)], [tcp("127.0.0.1", 2), tcp("::1", 1)]],
    want: [[tcp("::1", 1), tcp("127.0.0.1", 2)]],
  },
])("watchListeners() $name", async ({ steps, want }) => {
  const calls: GuestListener[][] = [];
  const watch = watchListeners((listeners) => calls.push(listeners), { trigger: "poll", pollIntervalMs: 2, scan: scripted(steps) });
  await Bun.sleep(steps.length * 2 + 60);
  watch.stop();
  expect(calls).toEqual(want);
});

test("watchListeners() keeps the last list when a scan fails and reports the error", async () => {
  const calls: GuestListener[][] = [];
  const errors: unknown[] = [];
  let scans = 0;
  const watch = watchListeners((listeners) => calls.push(listeners), {
    trigger: "poll",
    pollIntervalMs: 2,
    onError: (error) => errors.push(error),
    scan: () => {
      scans++;
      if (scans === 2) throw new Error("EMFILE");
      return scans >= 4 ? [tcp("0.0.0.0", 22)] : [];
    },
  });
  await Bun.sleep(60);
  watch.stop();
  expect(calls).toEqual([[], [tcp("0.0.0.0", 22)]]);
  expect(errors).toEqual([new Error("EMFILE")]);
});

test("watchListeners() stops calling after stop()", async () => {
  let calls = 0;
  let port = 1;
  const watch = watchListeners(() => calls++, { trigger: "poll", pollIntervalMs: 2, scan: () => [tcp("::", port++)] });
  watch.stop();
  await Bun.sleep(30);
  expect(calls).toBe(1);
});

test.each([
  { name: "polls when tracefs is missing and the trigger is auto", trigger: "auto" as const, want: "poll" },
  { name: "throws when tracefs is missing and the trigger must be tracefs", trigger: "tracefs" as const, want: "throws" },
])("watchListeners() $name", async ({ trigger, want }) => {
  const root = await mkdtemp(join(tmpdir(), "den-tracefs-"));
  try {
    const start = () => watchListeners(() => {}, { trigger, scan: () => [], tracefsRoot: join(root, "missing") });
    if (want === "throws") {
      expect(start).toThrow('Cannot watch listeners through tracefs: cannot create instance');
    } else {
      const watch = start();
      watch.stop();
      expect(watch.trigger).toBe(want);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("watchListeners() stops and rethrows when the first onChange throws", async () => {
  let scans = 0;
  expect(() =>
    watchListeners(() => {
      throw new Error("boom");
    }, { trigger: "poll", pollIntervalMs: 2, scan: () => (scans++, []) }),
  ).toThrow("boom");
  await Bun.sleep(20);
  expect(scans).toBe(1);
});

test("watchListeners() lists this process's own listener with the default scanner", async () => {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  try {
    let latest: GuestListener[] = [];
    const watch = watchListeners((listeners) => (latest = listeners), { trigger: "poll", pollIntervalMs: 60_000 });
    watch.stop();
    expect(latest).toContainEqual(tcp("127.0.0.1", server.port));
  } finally {
    server.stop(true);
  }
});

// A netlink scanner whose scans succeed or fail in the order given (the last outcome repeats), counting opens and closes.
function flakySockDiag(outcomes: ("ok" | "fail")[]) {
  const counts = { opened: 0, closed: 0, scans: 0 };
  const open = (): SockDiagScanner => {
    counts.opened++;
    return {
      scan: () => {
        if (outcomes[Math.min(counts.scans++, outcomes.length - 1)] === "fail") throw new Error("recv() failed with errno 105");
        return [tcp("0.0.0.0", 22)];
      },
      close: () => void counts.closed++,
    };
  };
  return { open, counts };
}

test.each<{ name: string; outcomes: ("ok" | "fail")[]; want: { scanner: ListenerScanner; opened: number; errors: number } }>([
  // The first two scans are the probe when the scanner opens and the watcher's first list.
  { name: "answers a failed sock_diag scan from /proc/net and scans on a fresh netlink socket next time", outcomes: ["ok", "ok", "fail", "ok"], want: { scanner: "sock-diag", opened: 2, errors: 1 } },
  { name: "keeps sock_diag after two failed scans in a row", outcomes: ["ok", "ok", "fail", "fail", "ok"], want: { scanner: "sock-diag", opened: 3, errors: 2 } },
  { name: "scans /proc/net for good after three failed sock_diag scans in a row", outcomes: ["ok", "ok", "fail", "fail", "fail", "ok"], want: { scanner: "procfs", opened: 3, errors: 3 } },
])("watchListeners() $name", async ({ outcomes, want }) => {
  const sockDiag = flakySockDiag(outcomes);
  const errors: unknown[] = [];
  const calls: GuestListener[][] = [];
  let procfsScans = 0;
  const watch = watchListeners((listeners) => calls.push(listeners), {
    trigger: "poll",
    pollIntervalMs: 2,
    openSockDiag: sockDiag.open,
    scanProcfs: () => (procfsScans++, [tcp("0.0.0.0", 22)]),
    onError: (error) => errors.push(error),
  });
  // Enough scans to pass the last outcome, however slowly the timers run on a loaded machine.
  for (let waited = 0; sockDiag.counts.scans + procfsScans < outcomes.length + 4 && waited < 5_000; waited += 5) await Bun.sleep(5);
  const scanner = watch.scanner;
  watch.stop();
  expect({ scanner, opened: sockDiag.counts.opened, errors: errors.length }).toEqual(want);
  expect(sockDiag.counts.closed).toBe(sockDiag.counts.opened);
  // Every failed sock_diag scan was answered from /proc/net, so the list never flickered.
  expect(procfsScans).toBeGreaterThanOrEqual(want.errors);
  expect(calls).toEqual([[tcp("0.0.0.0", 22)]]);
});
