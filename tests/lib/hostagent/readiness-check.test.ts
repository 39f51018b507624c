import { expect, test } from "bun:test";
import { type CheckFailure, formatCheckFailure, lastLines, type CheckRunContext, type ReadinessCheck, runReadinessChecks } from "../../../lib/hostagent/readiness-check.ts";
import { run } from "../../../lib/process/run.ts";
import type { ExecResult } from "../../../lib/ssh/ssh-session.ts";

/** Runs the guest command on this host, as the SSH session would in the guest. */
async function localExec(command: string): Promise<ExecResult> {
  const result = await run(["sh", "-c", command]);
  return { stdout: result.stdout, stderr: result.stderrTail, exitCode: result.code };
}

/** A clock that moves only when the runner sleeps, so retries cost no real time. */
function fakeTime(start = 1_000_000) {
  let now = start;
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

function context(overrides: Partial<CheckRunContext> = {}): CheckRunContext {
  const time = fakeTime();
  return { exec: localExec, deadline: time.now() + 600_000, now: time.now, sleep: time.sleep, exportParams: false, ...overrides };
}

const probe = (description: string, script: string, extra: Partial<ReadinessCheck> = {}): ReadinessCheck => ({ kind: "probe", description, script, hint: "", ...extra });

test("runReadinessChecks() passes checks that succeed", async () => {
  const checks = [probe("one", "#!/bin/sh\ntrue\n"), probe("two", "#!/bin/bash\n[ 1 = 1 ]\n")];
  expect(await runReadinessChecks(checks, context())).toEqual([]);
});

test("runReadinessChecks() retries a check until it succeeds", async () => {
  let calls = 0;
  const exec = async (): Promise<ExecResult> => ({ stdout: "", stderr: "", exitCode: ++calls < 4 ? 1 : 0 });
  expect(await runReadinessChecks([probe("flaky", "#!/bin/sh\n")], context({ exec }))).toEqual([]);
  expect(calls).toBe(4);
});

test.each([
  { name: "its attempts run out", overrides: { maxAttempts: 3 }, attempts: 3 },
  { name: "the deadline comes", overrides: { deadline: 1_000_000 + 10_000, retryIntervalMs: 3_000 }, attempts: 4 },
])("runReadinessChecks() gives up on a failing check when $name", async ({ overrides, attempts }) => {
  const failures = await runReadinessChecks([probe("never", "#!/bin/sh\necho nope >&2\nexit 2\n")], context(overrides));
  expect(failures).toHaveLength(1);
  expect(failures[0]?.attempts).toBe(attempts);
  expect(failures[0]?.result).toEqual({ stdout: "", stderr: "nope\n", exitCode: 2 });
});

test("runReadinessChecks() stops after a fatal check fails and tries it once", async () => {
  const seen: string[] = [];
  const checks = [{ ...probe("systemd", "#!/bin/sh\nexit 1\n"), kind: "engine" as const, fatal: true }, probe("later", "#!/bin/sh\ntrue\n")];
  const failures = await runReadinessChecks(checks, context({ onCheck: (check) => seen.push(check.description) }));
  expect(failures.map((failure) => [failure.check.description, failure.attempts])).toEqual([["systemd", 1]]);
  expect(seen).toEqual(["systemd"]);
});

test("runReadinessChecks() reports the checks left when the deadline passed without running them", async () => {
  const time = fakeTime();
  // Each attempt takes 4 s of the 5 s left: the second one ends past the deadline.
  const exec = async (): Promise<ExecResult> => {
    await time.sleep(4_000);
    return { stdout: "", stderr: "", exitCode: 1 };
  };
  const checks = [probe("slow", "#!/bin/sh\nexit 1\n"), probe("next", "#!/bin/sh\ntrue\n")];
  const failures = await runReadinessChecks(checks, context({ exec, now: time.now, sleep: time.sleep, deadline: time.now() + 5_000, retryIntervalMs: 500 }));
  expect(failures.map((failure) => [failure.check.description, failure.attempts, failure.reason])).toEqual([
    ["slow", 2, undefined],
    ["next", 0, "not checked: the start timeout was reached during an earlier check"],
  ]);
});

test("runReadinessChecks() reads the engine's log under a failing engine check", async () => {
  const check: ReadinessCheck = { kind: "engine", description: "containerd (system) to be running", script: "#!/bin/sh\necho inactive\nexit 3\n", hint: "look", logCommand: "printf 'line %s\\n' 1 2 3", logTitle: "containerd log" };
  const [failure] = await runReadinessChecks([check], context({ maxAttempts: 1 }));
  expect(failure?.logTail).toEqual(["line 1", "line 2", "line 3"]);
});

test("runReadinessChecks() turns a lost connection into the failure's reason", async () => {
  const exec = async (): Promise<ExecResult> => {
    throw new Error("Cannot connect to the guest");
  };
  const [failure] = await runReadinessChecks([probe("p", "#!/bin/sh\n")], context({ exec, maxAttempts: 2 }));
  expect(failure).toMatchObject({ attempts: 2, result: undefined, reason: "Cannot connect to the guest" });
});

test.each<{ name: string; failure: CheckFailure; text: string }>([
  {
    name: "a probe with output and a hint",
    failure: { check: probe("docker to be running", "#!/bin/sh\n", { hint: "see docker.service\nin the guest" }), attempts: 5, elapsedMs: 12_400, result: { stdout: "waiting\n", stderr: "no socket\n", exitCode: 1 } },
    text: [
      `the template's probe "docker to be running" failed (exit code 1, 5 attempts in 12 s)`,
      "  output (last lines):",
      "  | waiting",
      "  | no socket",
      "  hint: see docker.service",
      "        in the guest",
    ].join("\n"),
  },
  {
    name: "an engine check with its log",
    failure: {
      check: { kind: "engine" as const, description: "containerd (system) to be running", script: "", hint: "", logTitle: "containerd log (journalctl -u containerd)" },
      attempts: 1,
      elapsedMs: 100,
      result: { stdout: "", stderr: "", exitCode: 3 },
      logTail: ["Started containerd", "failed to load plugin"],
    },
    text: [
      `the container engine check "containerd (system) to be running" failed (exit code 3, 1 attempt in 0 s)`,
      "  (no output)",
      "  containerd log (journalctl -u containerd):",
      "  | Started containerd",
      "  | failed to load plugin",
    ].join("\n"),
  },
  {
    name: "a check that never ran",
    failure: { check: probe("next", ""), attempts: 0, elapsedMs: 0, reason: "not checked: the start timeout was reached during an earlier check" },
    text: `the template's probe "next" failed (not checked: the start timeout was reached during an earlier check)`,
  },
])("formatCheckFailure() shows $name", ({ failure, text }) => {
  expect(formatCheckFailure(failure)).toBe(text);
});

test.each<{ name: string; text: string; count: number; lines: string[] }>([
  { name: "the last lines only", text: "1\n2\n3\n4\n", count: 2, lines: ["3", "4"] },
  { name: "no blank lines or carriage returns", text: "a\r\n\n  \nb\n", count: 5, lines: ["a", "b"] },
  { name: "escape sequences made harmless", text: "\u001b[31mred\u001b[0m\n", count: 5, lines: ["?[31mred?[0m"] },
  { name: "long lines cut", text: `${"x".repeat(500)}\n`, count: 5, lines: [`${"x".repeat(400)}…`] },
])("lastLines() keeps $name", ({ text, count, lines }) => {
  expect(lastLines(text, count)).toEqual(lines);
});
