import { describe, expect, test } from "bun:test";
import type { HostAgentEvent, HostAgentStatus } from "../../../lib/hostagent/events.ts";
import { baselineFor, localTimestamp, portForwardChanges, renderWatchJson, renderWatchText, statusChanges } from "../../../lib/hostagent/watch-events.ts";

const base: HostAgentStatus = { running: false, degraded: false, exiting: false, errors: [] };
const forward = (guest: string, host: string) => ({ proto: "tcp" as const, guest, host, since: "2026-01-01T00:00:00Z", connections: 0 });
const ports = (forwards: ReturnType<typeof forward>[], failures: unknown[] = []) => ({ ports: { state: "ready" as const, data: { forwards, failures } } });

describe("statusChanges()", () => {
  test.each([
    { name: "says nothing when nothing changed", previous: { ...base, sshLocalPort: 60022 }, current: { ...base, sshLocalPort: 60022 }, want: [] },
    { name: "names the ssh port once it is known", previous: undefined, current: { ...base, sshLocalPort: 60022, stage: "qemu" as const }, want: ["boot stage: qemu", "ssh available on port 60022"] },
    { name: "names a new boot stage", previous: { ...base, stage: "qemu" as const }, current: { ...base, stage: "kernel" as const }, want: ["boot stage: kernel"] },
    { name: "names a readiness check", previous: { ...base, stage: "engine" as const }, current: { ...base, stage: "engine" as const, check: "docker" }, want: ["checking: docker"] },
    { name: "says running (Lima's word)", previous: { ...base, stage: "ready" as const }, current: { ...base, running: true }, want: ["running"] },
    {
      name: "says running (degraded) with the error",
      previous: base,
      current: { ...base, running: true, degraded: true, errors: ["mount /x failed"] },
      want: ["error: mount /x failed", "running (degraded)"],
    },
    { name: "shows only errors that are new", previous: { ...base, errors: ["a"] }, current: { ...base, errors: ["a", "b"] }, want: ["error: b"] },
    { name: "shows new warnings", previous: { ...base, warnings: ["w1"] }, current: { ...base, warnings: ["w1", "TCG is slow"] }, want: ["warning: TCG is slow"] },
    { name: "says exiting once", previous: { ...base, running: true }, current: { ...base, exiting: true }, want: ["exiting"] },
    {
      name: "shows a service's state and message when they change",
      previous: { ...base, services: { mounts: { state: "starting" as const } } },
      current: { ...base, services: { mounts: { state: "degraded" as const, message: 'mount "/x" (9p): no such device' } } },
      want: ['mounts: degraded: mount "/x" (9p): no such device'],
    },
    {
      name: "shows a forward that appears, in Lima's words",
      previous: { ...base, running: true, services: ports([]) },
      current: { ...base, running: true, services: ports([forward("0.0.0.0:8080", "127.0.0.1:8080")]) },
      want: ["forwarding tcp 0.0.0.0:8080 to 127.0.0.1:8080"],
    },
    {
      name: "escapes control characters a guest put in a message",
      previous: base,
      current: { ...base, errors: ["bad\u001b[2Jthing"] },
      want: ["error: bad\\x1b[2Jthing"],
    },
  ])("statusChanges() $name", ({ previous, current, want }) => {
    expect(statusChanges(previous as HostAgentStatus | undefined, current as HostAgentStatus)).toEqual([...want]);
  });
});

describe("portForwardChanges()", () => {
  const failure = { reason: "port-in-use", proto: "tcp", guest: "0.0.0.0:80", message: "127.0.0.1:80 is taken", since: "2026-01-01T00:00:00Z" };
  test.each([
    { name: "finds a new forward", before: [], after: [forward("[::]:3000", "127.0.0.1:3000")], failures: [], want: [{ type: "forwarding", protocol: "tcp", guestAddr: "[::]:3000", hostAddr: "127.0.0.1:3000" }] },
    { name: "finds a forward that stopped", before: [forward("0.0.0.0:22", "127.0.0.1:2222")], after: [], failures: [], want: [{ type: "stopping", protocol: "tcp", guestAddr: "0.0.0.0:22", hostAddr: "127.0.0.1:2222" }] },
    { name: "finds a new failure", before: [], after: [], failures: [failure], want: [{ type: "failed", protocol: "tcp", guestAddr: "0.0.0.0:80", error: "127.0.0.1:80 is taken" }] },
    { name: "finds nothing in an unchanged list", before: [forward("0.0.0.0:22", "127.0.0.1:2222")], after: [forward("0.0.0.0:22", "127.0.0.1:2222")], failures: [], want: [] },
  ])("portForwardChanges() $name", ({ before, after, failures, want }) => {
    expect(portForwardChanges({ ...base, services: ports([...before]) }, { ...base, services: ports([...after], [...failures]) })).toEqual([...want]);
  });

  test("portForwardChanges() ignores a ports report it cannot read", () => {
    expect(portForwardChanges(base, { ...base, services: { ports: { state: "ready", data: { forwards: "nope" } } } })).toEqual([]);
  });
});

describe("baselineFor()", () => {
  test.each([
    { name: "keeps a status of the same run", previous: { ...base, running: true }, want: { ...base, running: true } },
    { name: "forgets the status that ended a run", previous: { ...base, exiting: true }, want: undefined },
    { name: "has nothing before the first event", previous: undefined, want: undefined },
  ])("baselineFor() $name", ({ previous, want }) => {
    expect(baselineFor(previous)).toEqual(want);
  });
});

test("localTimestamp() formats local time as Lima does", () => {
  expect(localTimestamp(new Date(2026, 0, 2, 3, 4, 5))).toBe("2026-01-02 03:04:05");
});

describe("renderWatchText() and renderWatchJson()", () => {
  const time = new Date(2026, 0, 2, 3, 4, 5);
  const event = (status: HostAgentStatus): HostAgentEvent => ({ time: time.toISOString(), status });
  const stamp = localTimestamp(time);
  test.each([
    { name: "one line per change", previous: { ...base, stage: "services" as const }, status: { ...base, running: true }, want: `${stamp} vm | running\n` },
    { name: "nothing for an event without visible change", previous: base, status: base, want: "" },
  ])("renderWatchText() writes $name", ({ previous, status, want }) => {
    expect(renderWatchText("vm", event(status), previous)).toBe(want);
  });

  test.each([
    {
      name: "the event with the instance name when no forward changed",
      previous: base,
      status: { ...base, running: true },
      want: [{ instance: "vm", event: { time: time.toISOString(), status: { ...base, running: true } } }],
    },
    {
      name: "one event per forward change with Lima's portForward",
      previous: { ...base, services: ports([forward("0.0.0.0:1", "127.0.0.1:1")]) },
      status: { ...base, services: ports([forward("0.0.0.0:2", "127.0.0.1:2")]) },
      want: [
        { instance: "vm", event: { time: time.toISOString(), status: { ...base, services: ports([forward("0.0.0.0:2", "127.0.0.1:2")]), portForward: { type: "forwarding", protocol: "tcp", guestAddr: "0.0.0.0:2", hostAddr: "127.0.0.1:2" } } } },
        { instance: "vm", event: { time: time.toISOString(), status: { ...base, services: ports([forward("0.0.0.0:2", "127.0.0.1:2")]), portForward: { type: "stopping", protocol: "tcp", guestAddr: "0.0.0.0:1", hostAddr: "127.0.0.1:1" } } } },
      ],
    },
  ])("renderWatchJson() writes $name", ({ previous, status, want }) => {
    const lines = renderWatchJson("vm", event(status), previous).trimEnd().split("\n");
    expect(lines.map((line) => JSON.parse(line))).toEqual([...want]);
  });
});
