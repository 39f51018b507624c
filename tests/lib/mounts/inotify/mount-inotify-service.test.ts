import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FilledDenYaml, FilledMount } from "../../../../lib/config/schema.ts";
import type { GuestAgentClient } from "../../../../lib/guestagent/guest-agent-client.ts";
import type { GuestFsEvent } from "../../../../agent/protocol/messages.ts";
import type { GuestServiceContext, GuestServiceReport, RunningGuestService } from "../../../../lib/hostagent/guest-service.ts";
import { createMemoryLogger } from "../../../../lib/log.ts";
import { mountInotifyService } from "../../../../lib/mounts/inotify/mount-inotify-service.ts";

function mount(location: string, mountPoint = location): FilledMount {
  return {
    location,
    mountPoint,
    writable: true,
    sshfs: { cache: true, followSymlinks: false, sftpDriver: "" },
    "9p": { securityModel: "none", protocolVersion: "9p2000.L", msize: "128KiB", cache: "mmap" },
    virtiofs: {},
  };
}

type ServiceConfig = Pick<FilledDenYaml, "mountInotify" | "mountType" | "mounts">;

test.each<{ name: string; config: ServiceConfig; enabled: boolean }>([
  { name: "on with mounts", config: { mountInotify: true, mountType: "virtiofs", mounts: [mount("/a")] }, enabled: true },
  { name: "off when mountInotify is false", config: { mountInotify: false, mountType: "virtiofs", mounts: [mount("/a")] }, enabled: false },
  { name: "off without mounts", config: { mountInotify: true, mountType: "9p", mounts: [] }, enabled: false },
  { name: "off for wsl2", config: { mountInotify: true, mountType: "wsl2", mounts: [mount("/a")] }, enabled: false },
])("mountInotifyService is $name", ({ config, enabled }) => {
  expect(mountInotifyService.enabled(config as FilledDenYaml)).toBe(enabled);
});

let dir: string;
let running: RunningGuestService | undefined;

beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), "den-mount-inotify-")));
});

afterEach(async () => {
  await running?.stop();
  running = undefined;
  await rm(dir, { recursive: true, force: true });
});

function fakeContext(mounts: FilledMount[], agent: GuestAgentClient | undefined) {
  const reports: GuestServiceReport[] = [];
  const ctx = {
    instanceName: "t",
    instanceDir: "/nonexistent",
    denHome: "/nonexistent",
    config: { mountInotify: true, mountType: "virtiofs", mounts } as unknown as FilledDenYaml,
    agent,
    env: {},
    log: createMemoryLogger(),
    report: (report: GuestServiceReport) => reports.push(report),
    signal: new AbortController().signal,
  } as unknown as GuestServiceContext;
  return { ctx, reports };
}

function fakeAgent(sent: GuestFsEvent[][]): GuestAgentClient {
  return { sendFsEvents: (events: readonly GuestFsEvent[]) => sent.push([...events]) } as unknown as GuestAgentClient;
}

test("mountInotifyService sends host changes to the agent under the guest mount point", async () => {
  const sent: GuestFsEvent[][] = [];
  const { ctx, reports } = fakeContext([mount(dir, "/home/u.guest/share")], fakeAgent(sent));
  running = await mountInotifyService.start(ctx);
  expect(reports.at(-1)).toEqual({ state: "ready", data: { watched: [{ location: dir, mountPoint: "/home/u.guest/share" }], problems: [] } });
  await writeFile(join(dir, "a b ü.txt"), "x");
  const deadline = Date.now() + 2000;
  while (!sent.flat().some((event) => event.path === "/home/u.guest/share/a b ü.txt") && Date.now() < deadline) await Bun.sleep(5);
  expect(sent.flat()).toContainEqual({ path: "/home/u.guest/share/a b ü.txt", kind: "create" });
});

test("mountInotifyService stops sending after stop()", async () => {
  const sent: GuestFsEvent[][] = [];
  const { ctx } = fakeContext([mount(dir)], fakeAgent(sent));
  const service = await mountInotifyService.start(ctx);
  await service.stop();
  await writeFile(join(dir, "late"), "x");
  await Bun.sleep(200);
  expect(sent).toEqual([]);
});

test("mountInotifyService is degraded without a guest agent", async () => {
  const { ctx, reports } = fakeContext([mount(dir)], undefined);
  running = await mountInotifyService.start(ctx);
  expect(reports).toEqual([{ state: "degraded", message: "mountInotify needs the guest agent, and this instance runs without one" }]);
});

test("mountInotifyService names a folder it cannot watch and watches the others", async () => {
  const missing = join(dir, "missing");
  const { ctx, reports } = fakeContext([mount(missing), mount(dir)], fakeAgent([]));
  running = await mountInotifyService.start(ctx);
  expect(reports.at(-1)).toEqual({
    state: "degraded",
    message: `"${missing}": file events are off: the folder does not exist`,
    data: { watched: [{ location: dir, mountPoint: dir }], problems: [{ location: missing, problem: "file events are off: the folder does not exist" }] },
  });
});
