import { afterAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { closeSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DenError } from "../../../lib/errors.ts";
import { listenUnixSocket } from "../../../lib/mounts/listen-unix-socket.ts";

const dir = await mkdtemp(join(tmpdir(), "den-listen-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("listenUnixSocket", () => {
  test("listenUnixSocket() listens at the path, and a child given the fd sees it without close-on-exec", async () => {
    const path = join(dir, "a.sock");
    const fd = listenUnixSocket(path);
    try {
      expect((await stat(path)).isSocket()).toBe(true);
      const connected = await new Promise<boolean>((resolve) => {
        const socket = connect(path, () => {
          socket.destroy();
          resolve(true);
        });
        socket.once("error", () => resolve(false));
      });
      expect(connected).toBe(true);
      const child = spawn("sh", ["-c", "readlink /proc/self/fd/3; grep ^flags /proc/self/fdinfo/3"], { stdio: ["ignore", "pipe", "inherit", fd] });
      let output = "";
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
      await new Promise((resolve) => child.once("close", resolve));
      const [target = "", flags = ""] = output.trim().split("\n");
      expect(target).toStartWith("socket:");
      // O_CLOEXEC is 02000000 (octal) in the flags fdinfo shows.
      expect(Number.parseInt(flags.replace(/^flags:\s*/, ""), 8) & 0o2000000).toBe(0);
    } finally {
      closeSync(fd);
    }
  });

  test.each([
    { name: "a path that exists", path: () => join(dir, "a.sock"), message: /EADDRINUSE/ },
    { name: "a path too long for sockaddr_un", path: () => join(dir, "x".repeat(120)), message: /at most 107 bytes/ },
    { name: "a folder that does not exist", path: () => join(dir, "missing", "b.sock"), message: /ENOENT/ },
  ])("listenUnixSocket() refuses $name", ({ path, message }) => {
    expect(() => listenUnixSocket(path())).toThrow(DenError);
    expect(() => listenUnixSocket(path())).toThrow(message);
  });
});
