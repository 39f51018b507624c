import { expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureDockerContext } from "../../../lib/docker-context/ensure-docker-context.ts";
import { run } from "../../../lib/process/run.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

/** The host's docker client with its contexts in a temporary DOCKER_CONFIG, so the user's are never touched. */
async function realIo() {
  const config = await makeTempDir("den-docker-config-");
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DOCKER_CONFIG: config };
  return { config, io: { run, which: Bun.which, env } };
}

async function contextHost(env: Record<string, string | undefined>, context: string): Promise<string> {
  return (await run(["docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}", context], { env })).stdout.trim();
}

test("ensureDockerContext() creates, keeps and updates den-NAME with the real docker client", async () => {
  const { config, io } = await realIo();
  expect(await ensureDockerContext("vm", { socket: "/d/vm/sock/docker.sock", io })).toEqual({ kind: "created", context: "den-vm", host: "unix:///d/vm/sock/docker.sock" });
  expect(await contextHost(io.env, "den-vm")).toBe("unix:///d/vm/sock/docker.sock");
  expect((await ensureDockerContext("vm", { socket: "/d/vm/sock/docker.sock", io })).kind).toBe("unchanged");
  expect(await ensureDockerContext("vm", { socket: "/d/a,b/sock/docker.sock", io })).toEqual({ kind: "updated", context: "den-vm", host: "unix:///d/a,b/sock/docker.sock" });
  expect(await contextHost(io.env, "den-vm")).toBe("unix:///d/a,b/sock/docker.sock");
  // The current context stays the user's: docker writes currentContext into config.json only on `context use`.
  const current = await readFile(join(config, "config.json"), "utf8").catch(() => "{}");
  expect(JSON.parse(current).currentContext).toBeUndefined();
});

test("ensureDockerContext() does nothing without a docker client on PATH", async () => {
  const calls: string[][] = [];
  const io = { run: async (argv: readonly string[]) => (calls.push([...argv]), { code: 0, signal: null, stdout: "", stderrTail: "" }), which: () => null, env: {} };
  expect(await ensureDockerContext("vm", { socket: "/d/docker.sock", io })).toEqual({ kind: "no-docker" });
  expect(calls).toEqual([]);
});

test.each([
  {
    name: "docker refusing the update",
    results: [
      { code: 0, stdout: "unix:///old/docker.sock\n", stderrTail: "" },
      { code: 1, stdout: "", stderrTail: "some warning\nfailed to update context\n" },
    ],
    message: 'Cannot update docker context "den-vm": docker exited with code 1: failed to update context',
  },
  {
    name: "docker refusing the creation",
    results: [
      { code: 1, stdout: "", stderrTail: 'context "den-vm" does not exist\n' },
      { code: 1, stdout: "", stderrTail: "permission denied\n" },
    ],
    message: 'Cannot create docker context "den-vm": docker exited with code 1: permission denied',
  },
])("ensureDockerContext() turns $name into a warning", async ({ results, message }) => {
  const queue = [...results];
  const io = { run: async () => ({ signal: null, ...(queue.shift() ?? { code: 0, stdout: "", stderrTail: "" }) }), which: () => "/usr/bin/docker", env: {} };
  expect(await ensureDockerContext("vm", { socket: "/d/docker.sock", io })).toEqual({ kind: "failed", context: "den-vm", message });
});
