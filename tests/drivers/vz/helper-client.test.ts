import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { attachHelper, type HelperClient, spawnHelper } from "../../../drivers/vz/helper-client.ts";
import type { HelperEvent } from "../../../drivers/vz/helper-protocol.ts";
import type { VmExit } from "../../../drivers/driver.ts";
import { DenError } from "../../../lib/errors.ts";

const fake = resolve(import.meta.dir, "support/fake-vz-helper.ts");
const root = mkdtempSync(join(tmpdir(), "den-vzc-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let runs = 0;
function startFake(scenario: string): { client: HelperClient; log: string; stderr: string } {
  runs += 1;
  const log = join(root, `requests-${runs}.jsonl`);
  const stderr = join(root, `stderr-${runs}.log`);
  const client = spawnHelper([process.execPath, fake, "serve"], { stderrPath: stderr, env: { ...process.env, FAKE_VZ_SCENARIO: scenario, FAKE_VZ_LOG: log }, what: "the fake helper" });
  return { client, log, stderr };
}

function requestsOf(log: string): unknown[] {
  return readFileSync(log, "utf8").trim().split("\n").map((line) => JSON.parse(line));
}

const hello = { protocolVersion: 1 } as const;

test("request() numbers requests, returns the parsed results and the events arrive in order", async () => {
  const { client, log } = startFake("ok");
  const events: HelperEvent[] = [];
  const collected = (async () => {
    for await (const event of client.events) events.push(event);
  })();
  expect(await client.request("hello", hello)).toEqual({ protocolVersion: 1, helperVersion: "9.9.9-fake", macosVersion: "15.1", capabilities: { rosetta: "installed", nestedVirtualization: true } });
  expect(await client.request("start", {})).toEqual({});
  expect(await client.request("pause", {})).toEqual({});
  expect(await client.request("state", {})).toEqual({ state: "paused" });
  expect(await client.request("stop", { graceful: true, timeoutMs: 1000 })).toEqual({ forced: false });
  expect(await client.exited).toEqual({ code: 0, signal: null });
  await collected;
  expect(events.map((event) => (event.event === "state" ? event.state : event.code))).toEqual(["starting", "running", "paused", "stopping", "stopped"]);
  expect(requestsOf(log)).toEqual([
    { id: 1, method: "hello", params: { protocolVersion: 1 } },
    { id: 2, method: "start", params: {} },
    { id: 3, method: "pause", params: {} },
    { id: 4, method: "state", params: {} },
    { id: 5, method: "stop", params: { graceful: true, timeoutMs: 1000 } },
  ]);
});

test.each([
  { scenario: "unsupported-protocol", message: 'The fake helper refused "hello": this helper speaks protocol 2 (UNSUPPORTED_PROTOCOL)', faults: false },
  { scenario: "garbage", message: 'The fake helper broke the control protocol: it wrote a line that is not JSON: "this is not json"', faults: true },
  { scenario: "long-line", message: "The fake helper broke the control protocol: it wrote a line longer than 1048576 bytes", faults: true },
  { scenario: "bad-result", message: 'The fake helper broke the control protocol: its answer to "hello" does not match protocol version 1: "{"id":1,"result":{"protocolVersion":1}}"', faults: true },
])("request() rejects with a VZ_HELPER error when the helper answers $scenario", async ({ scenario, message, faults }) => {
  const { client } = startFake(scenario);
  const error = await client.request("hello", hello).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(DenError);
  expect(error).toMatchObject({ code: "VZ_HELPER", message });
  if (faults) {
    // A fault closes stdin: the helper hears EOF and exits, and later requests fail the same way.
    expect(await client.exited).toEqual({ code: 0, signal: null });
    expect(client.fault()?.message).toBe(message);
    await expect(client.request("state", {})).rejects.toMatchObject({ code: "VZ_HELPER", message });
  } else {
    expect(client.fault()).toBeUndefined();
    await client.close();
  }
});

test("an answer to a request den never sent is a fault that fails the requests in flight", async () => {
  const { client } = startFake("unknown-id");
  expect(await client.request("hello", hello)).toMatchObject({ protocolVersion: 1 });
  const inFlight = client.request("state", {}, { timeoutMs: 5000 }).catch((caught: unknown) => caught);
  await client.exited;
  expect(client.fault()?.message).toBe("The fake helper broke the control protocol: it answered request 1001, which den never sent or which was already answered");
  expect(await inFlight).toMatchObject({ code: "VZ_HELPER" });
});

test("an event with an unknown state is a fault, not an event", async () => {
  const { client } = startFake("bad-state-event");
  const events: HelperEvent[] = [];
  const collected = (async () => {
    for await (const event of client.events) events.push(event);
  })();
  await client.request("hello", hello);
  await client.request("start", {}).catch(() => undefined);
  await collected;
  expect(client.fault()?.message).toStartWith("The fake helper broke the control protocol: it wrote a message that is neither an answer nor an event");
  expect(events).toEqual([{ event: "state", state: "starting" }]);
  await client.close();
});

test("a request the helper never answers times out", async () => {
  const { client } = startFake("silent");
  await expect(client.request("hello", hello, { timeoutMs: 200 })).rejects.toMatchObject({ code: "VZ_HELPER", message: 'The fake helper did not answer "hello" within 200 ms' });
  expect(await client.close({ timeoutMs: 5000 })).toEqual({ code: 0, signal: null });
});

test("a request is cancelled by its signal", async () => {
  const { client } = startFake("silent");
  const controller = new AbortController();
  const pending = client.request("hello", hello, { signal: controller.signal });
  controller.abort();
  await expect(pending).rejects.toMatchObject({ code: "VZ_HELPER", message: '"hello" was cancelled' });
  await client.close();
});

test("a helper that dies fails the request in flight with its exit and its error event stays readable", async () => {
  const { client } = startFake("dies-after-start");
  const events: HelperEvent[] = [];
  const collected = (async () => {
    for await (const event of client.events) events.push(event);
  })();
  await client.request("hello", hello);
  await client.request("start", {});
  const inFlight = client.request("state", {}, { timeoutMs: 10_000 }).catch((caught: unknown) => caught);
  expect(await client.exited).toEqual({ code: 1, signal: null });
  await collected;
  expect(events).toContainEqual({ event: "error", code: "VZ_ERROR", message: "the guest kernel panicked" });
  expect(client.fault()?.message).toBe("The fake helper exited with code 1");
  const error = await inFlight;
  // Either it was answered before the helper died, or it failed with the death.
  if (error instanceof DenError) expect(error.message).toBe("The fake helper exited with code 1");
});

test("close() ends a helper that ignores stdin EOF by killing it", async () => {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let settle: (exit: VmExit) => void = () => {};
  const exited = new Promise<VmExit>((resolve) => (settle = resolve));
  const client = attachHelper({ stdin, stdout, exited, pid: 1, kill: () => settle({ code: null, signal: "SIGKILL" }) }, { what: "the stub helper", hint: "see its log" });
  expect(await client.close({ timeoutMs: 50 })).toEqual({ code: null, signal: "SIGKILL" });
});

test("a line split across many chunks is read whole, and blank lines are ignored", async () => {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const client = attachHelper({ stdin, stdout, exited: new Promise(() => {}), pid: 1, kill: () => {} }, { what: "the stub helper", hint: "see its log" });
  const answer = client.request("state", {});
  const line = `\n{"id":1,"result":{"state":"running"}}\n`;
  for (const char of line) stdout.write(char);
  expect(await answer).toEqual({ state: "running" });
  expect(client.fault()).toBeUndefined();
});

const standin = resolve(import.meta.dir, "support/vz-standin-helper.ts");

test("the QEMU stand-in prints its version and protocol, and refuses what the protocol refuses before any VM runs", async () => {
  const version = Bun.spawnSync([process.execPath, standin, "--version"]);
  expect({ exitCode: version.exitCode, stdout: version.stdout.toString() }).toEqual({ exitCode: 0, stdout: "den-vz-helper 0.0.0-standin protocol 1\n" });
  runs += 1;
  const client = spawnHelper([process.execPath, standin, "serve", "-pidfile", join(root, "unused.pid")], { stderrPath: join(root, `stderr-${runs}.log`), what: "the stand-in" });
  await expect(client.request("start", {})).rejects.toMatchObject({ message: 'The stand-in refused "start": hello must come first (BAD_REQUEST)' });
  await expect(client.request("hello", { protocolVersion: 2 })).rejects.toMatchObject({ message: 'The stand-in refused "hello": this helper speaks protocol 1, not 2 (UNSUPPORTED_PROTOCOL)' });
  expect(await client.request("hello", hello)).toMatchObject({ protocolVersion: 1, capabilities: { rosetta: "unsupported", nestedVirtualization: false } });
  await expect(client.request("start", {})).rejects.toMatchObject({ message: 'The stand-in refused "start": create the machine first (BAD_STATE)' });
  expect(await client.request("state", {})).toEqual({ state: "stopped" });
  expect(await client.close()).toEqual({ code: 0, signal: null });
});
