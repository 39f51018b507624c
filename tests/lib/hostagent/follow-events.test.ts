import { expect, test } from "bun:test";
import { appendFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatEvent, type HostAgentEvent } from "../../../lib/hostagent/events.ts";
import { followEvents } from "../../../lib/hostagent/follow-events.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

const status = { running: false, degraded: false, exiting: false, errors: [] };

function line(port: number, time = new Date()): string {
  return formatEvent({ ...status, sshLocalPort: port }, time);
}

async function logPath(): Promise<string> {
  return join(await makeTempDir("den-follow-"), "ha.stdout.log");
}

/** Collects events until `count` arrived (or 3 s passed), running `write` alongside the follower. */
async function collect(path: string, options: { count: number; since?: Date; write: () => Promise<void> }): Promise<HostAgentEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 3000);
  const events: HostAgentEvent[] = [];
  const reading = (async () => {
    for await (const event of followEvents(path, { signal: controller.signal, since: options.since, pollMs: 10 })) {
      events.push(event);
      if (events.length >= options.count) controller.abort();
    }
  })();
  await options.write();
  await reading;
  clearTimeout(timer);
  return events;
}

test("followEvents() waits for a file that does not exist yet", async () => {
  const path = await logPath();
  const events = await collect(path, {
    count: 1,
    write: async () => {
      await Bun.sleep(50);
      await writeFile(path, line(1));
    },
  });
  expect(events.map((event) => event.status.sshLocalPort)).toEqual([1]);
});

test.each([{ piece: 1 }, { piece: 7 }, { piece: 40 }])("followEvents() joins lines written $piece bytes at a time", async ({ piece }) => {
  const path = await logPath();
  await writeFile(path, "");
  const text = `${line(1)}not an event\n${line(2)}{"time":"x"}\n${line(3)}`;
  const events = await collect(path, {
    count: 3,
    write: async () => {
      for (let at = 0; at < text.length; at += piece) {
        await appendFile(path, text.slice(at, at + piece));
        if (at % (piece * 20) === 0) await Bun.sleep(1);
      }
    },
  });
  expect(events.map((event) => event.status.sshLocalPort)).toEqual([1, 2, 3]);
});

test("followEvents() holds back a last line until its newline arrives", async () => {
  const path = await logPath();
  const whole = line(5);
  await writeFile(path, whole.slice(0, 20));
  const events = await collect(path, {
    count: 1,
    write: async () => {
      await Bun.sleep(60);
      await appendFile(path, whole.slice(20));
    },
  });
  expect(events.map((event) => event.status.sshLocalPort)).toEqual([5]);
});

test("followEvents() starts over when the file is truncated", async () => {
  const path = await logPath();
  await writeFile(path, `${line(1)}${line(2)}`);
  const events = await collect(path, {
    count: 3,
    write: async () => {
      await Bun.sleep(60);
      await truncate(path, 0);
      await Bun.sleep(60);
      await writeFile(path, line(9));
    },
  });
  expect(events.map((event) => event.status.sshLocalPort)).toEqual([1, 2, 9]);
});

test("followEvents() skips events older than since", async () => {
  const path = await logPath();
  const since = new Date("2025-01-01T00:00:10Z");
  await writeFile(path, `${line(1, new Date("2025-01-01T00:00:09.999Z"))}${line(2, since)}${line(3, new Date("2025-01-01T00:01:00Z"))}`);
  const events = await collect(path, { count: 2, since, write: async () => {} });
  expect(events.map((event) => event.status.sshLocalPort)).toEqual([2, 3]);
});

test("followEvents() ends when the signal aborts", async () => {
  const path = await logPath();
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const events: HostAgentEvent[] = [];
  for await (const event of followEvents(path, { signal: controller.signal, pollMs: 10 })) events.push(event);
  expect(events).toEqual([]);
});
