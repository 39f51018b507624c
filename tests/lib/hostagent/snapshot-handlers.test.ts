import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Driver, SnapshotManager } from "../../../drivers/driver.ts";
import { DenError } from "../../../lib/errors.ts";
import { hostAgentSnapshot } from "../../../lib/hostagent/api-client.ts";
import { SnapshotRequestSchema } from "../../../lib/hostagent/api-schema.ts";
import { type ApiHandlers, startApiServer } from "../../../lib/hostagent/api-server.ts";
import { snapshotHandlers } from "../../../lib/hostagent/snapshot-handlers.ts";
import { HostAgentSock } from "../../../lib/store/filenames.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

/** A driver whose snapshot manager records its calls; `snapshots: false` leaves the manager out. */
function fakeDriver(options: { snapshots: boolean; calls: string[]; slowMs?: number }): Driver {
  const record = (what: string) => async (tag?: string) => {
    options.calls.push(`${what} ${tag ?? ""}`.trim());
    if (options.slowMs) await Bun.sleep(options.slowMs);
    options.calls.push(`${what} done`);
  };
  const manager: SnapshotManager = {
    create: record("create"),
    apply: record("apply"),
    delete: record("delete"),
    list: async () => "ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT\n--        t1     0 B 2026-01-01 00:00:00 00:00:00.000 0\n",
  };
  return { info: () => ({ name: "fake" }), ...(options.snapshots && { snapshots: manager }) } as unknown as Driver;
}

const baseHandlers: ApiHandlers = {
  info: () => ({ sshLocalPort: 0, status: "Running", degraded: false, errors: [], services: {} }),
  pause: async () => {},
  resume: async () => {},
  stop: () => {},
};

async function serve(handlers: ApiHandlers): Promise<{ dir: string; close: () => Promise<void> }> {
  const dir = await makeTempDir("den-snap-");
  const server = await startApiServer(join(dir, HostAgentSock), handlers);
  return { dir, close: () => server.close() };
}

describe("SnapshotRequestSchema", () => {
  test.each([
    { body: { tag: "before-upgrade" }, ok: true },
    { body: { tag: "a.b_c-1" }, ok: true },
    { body: { tag: "" }, ok: false },
    { body: { tag: "42" }, ok: false },
    { body: { tag: "a b" }, ok: false },
    { body: { tag: "_x" }, ok: false },
    { body: {}, ok: false },
    { body: { tag: 7 }, ok: false },
  ])("SnapshotRequestSchema accepts the tag $body.tag: $ok", ({ body, ok }) => {
    expect(SnapshotRequestSchema.safeParse(body).success).toBe(ok);
  });
});

describe("the snapshot routes of ha.sock", () => {
  test.each([
    { name: "create calls the driver's create with the tag", path: "/v1/snapshots/create", body: { tag: "t1" }, status: 200, calls: ["create t1", "create done"] },
    { name: "apply calls the driver's apply", path: "/v1/snapshots/apply", body: { tag: "t1" }, status: 200, calls: ["apply t1", "apply done"] },
    { name: "delete calls the driver's delete", path: "/v1/snapshots/delete", body: { tag: "t1" }, status: 200, calls: ["delete t1", "delete done"] },
    { name: "a malformed tag is refused before the driver", path: "/v1/snapshots/create", body: { tag: "../x" }, status: 400, calls: [] },
    { name: "a body that is not JSON is refused", path: "/v1/snapshots/create", body: "not json", status: 400, calls: [] },
    { name: "an unknown action has no route", path: "/v1/snapshots/revert", body: { tag: "t1" }, status: 404, calls: [] },
  ])("POST: $name", async ({ path, body, status, calls }) => {
    const seen: string[] = [];
    const driver = fakeDriver({ snapshots: true, calls: seen });
    const api = await serve({ ...baseHandlers, snapshots: snapshotHandlers(() => driver) });
    try {
      const response = await fetch(`http://localhost${path}`, { unix: join(api.dir, HostAgentSock), method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });
      expect(response.status).toBe(status);
      expect(seen).toEqual([...calls]);
    } finally {
      await api.close();
    }
  });

  test.each([
    { name: "answers 409 before the VM started", driver: undefined, status: 409, message: "Cannot snapshot: the VM has not started yet" },
    { name: "names the vmType of a driver without snapshots", driver: fakeDriver({ snapshots: false, calls: [] }), status: 500, message: 'Cannot snapshot: vmType "fake" has no snapshots' },
  ])("POST /v1/snapshots/create $name", async ({ driver, status, message }) => {
    const api = await serve({ ...baseHandlers, snapshots: snapshotHandlers(() => driver) });
    try {
      const response = await fetch("http://localhost/v1/snapshots/create", { unix: join(api.dir, HostAgentSock), method: "POST", body: JSON.stringify({ tag: "t1" }) });
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual({ message });
    } finally {
      await api.close();
    }
  });

  test("a host agent without snapshot handlers answers 501", async () => {
    const api = await serve(baseHandlers);
    try {
      const error = await hostAgentSnapshot(api.dir, "list", { timeoutMs: 2000 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DenError);
      expect((error as DenError).details).toEqual({ status: 501 });
    } finally {
      await api.close();
    }
  });

  test("hostAgentSnapshot() returns the driver's table for list and nothing for create", async () => {
    const seen: string[] = [];
    const driver = fakeDriver({ snapshots: true, calls: seen });
    const api = await serve({ ...baseHandlers, snapshots: snapshotHandlers(() => driver) });
    try {
      expect(await hostAgentSnapshot(api.dir, "list", { timeoutMs: 2000 })).toStartWith("ID        TAG");
      expect(await hostAgentSnapshot(api.dir, "create", { tag: "t2", timeoutMs: 2000 })).toBe("");
      expect(seen).toEqual(["create t2", "create done"]);
    } finally {
      await api.close();
    }
  });

  test("hostAgentSnapshot() gives up after its timeout", async () => {
    const driver = fakeDriver({ snapshots: true, calls: [], slowMs: 1000 });
    const api = await serve({ ...baseHandlers, snapshots: snapshotHandlers(() => driver) });
    try {
      const error = await hostAgentSnapshot(api.dir, "create", { tag: "t1", timeoutMs: 100 }).catch((caught: unknown) => caught);
      expect((error as DenError).message).toContain("did not answer POST /v1/snapshots/create within 100 ms");
    } finally {
      await Bun.sleep(1000);
      await api.close();
    }
  });
});

describe("snapshotHandlers()", () => {
  test("snapshotHandlers() runs one request at a time", async () => {
    const seen: string[] = [];
    const handlers = snapshotHandlers(() => fakeDriver({ snapshots: true, calls: seen, slowMs: 30 }));
    await Promise.all([handlers.run("create", "a"), handlers.run("delete", "b")]);
    expect(seen).toEqual(["create a", "create done", "delete b", "delete done"]);
  });

  test.each([
    { action: "apply" as const, hooked: true },
    { action: "create" as const, hooked: false },
    { action: "delete" as const, hooked: false },
  ])("snapshotHandlers() runs afterApply after $action only when it is apply: $hooked", async ({ action, hooked }) => {
    const seen: string[] = [];
    const handlers = snapshotHandlers(() => fakeDriver({ snapshots: true, calls: seen }), { afterApply: async () => void seen.push("ssh master closed") });
    await handlers.run(action, "t1");
    expect(seen).toEqual([`${action} t1`, `${action} done`, ...(hooked ? ["ssh master closed"] : [])]);
  });

  test("snapshotHandlers() goes on after a failed request", async () => {
    let calls = 0;
    const handlers = snapshotHandlers(() => {
      calls += 1;
      return calls === 1 ? undefined : fakeDriver({ snapshots: true, calls: [] });
    });
    await expect(handlers.run("create", "a")).rejects.toThrow("the VM has not started yet");
    await expect(handlers.list()).resolves.toStartWith("ID");
  });
});
