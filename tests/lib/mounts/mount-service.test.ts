import { describe, expect, test } from "bun:test";
import type { FilledDenYaml, FilledMount } from "../../../lib/config/schema.ts";
import type { GuestServiceContext, GuestServiceReport } from "../../../lib/hostagent/guest-service.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { mountService, sftpBackend } from "../../../lib/mounts/mount-service.ts";
import type { ExecResult } from "../../../lib/ssh/ssh-session.ts";

function mount(location: string, writable: boolean): FilledMount {
  return {
    location,
    mountPoint: location,
    writable,
    sshfs: { cache: true, followSymlinks: false, sftpDriver: "" },
    "9p": { securityModel: "none", protocolVersion: "9p2000.L", msize: "128KiB", cache: "fscache" },
    virtiofs: {},
  };
}

/** A context whose SSH session answers from `answer`; only what the 9p/virtiofs path uses is real. */
function fakeContext(config: Pick<FilledDenYaml, "mountType" | "mounts">, answer: (command: string) => string): { ctx: GuestServiceContext; reports: GuestServiceReport[]; commands: string[] } {
  const reports: GuestServiceReport[] = [];
  const commands: string[] = [];
  const exec = async (command: string): Promise<ExecResult> => {
    commands.push(command);
    return { stdout: answer(command), stderr: "", exitCode: 0 };
  };
  const ctx = {
    instanceName: "t",
    instanceDir: "/nonexistent",
    denHome: "/nonexistent",
    config: config as FilledDenYaml,
    ssh: { port: 1, user: "u", privateKey: "", privateKeyPath: "", session: { exec, open: true, close() {} } },
    agent: undefined,
    env: {},
    log: createMemoryLogger(),
    report: (report: GuestServiceReport) => reports.push(report),
    signal: new AbortController().signal,
  } as unknown as GuestServiceContext;
  return { ctx, reports, commands };
}

describe("mountService", () => {
  test.each([
    { name: "no mounts", config: { mounts: [], mountType: "9p" }, want: false },
    { name: "9p mounts", config: { mounts: [mount("/a", false)], mountType: "9p" }, want: true },
    { name: "wsl2 mounts", config: { mounts: [mount("/a", false)], mountType: "wsl2" }, want: false },
  ])("mountService.enabled() with $name is $want", ({ config, want }) => {
    expect(mountService.enabled(config as unknown as FilledDenYaml)).toBe(want);
  });

  test("mountService.start() reports ready with every 9p mount in data when findmnt shows them all", async () => {
    const config = { mountType: "9p" as const, mounts: [mount("/srv/a b", true), mount("/srv/c", false)] };
    const { ctx, reports } = fakeContext(config, () => "0 9p rw,relatime\n1 9p ro,relatime\n");
    await mountService.start(ctx);
    expect(reports.at(-1)).toEqual({
      state: "ready",
      data: {
        mountType: "9p",
        mounts: [
          { location: "/srv/a b", mountPoint: "/srv/a b", writable: true, mounted: true },
          { location: "/srv/c", mountPoint: "/srv/c", writable: false, mounted: true },
        ],
      },
    });
  });

  test("mountService.start() retries a missing fstab mount once and reports degraded with the mount point and mount's message", async () => {
    const config = { mountType: "virtiofs" as const, mounts: [mount("/srv/ok", false), mount("/srv/gone", true)] };
    const { ctx, reports, commands } = fakeContext(config, (command) => {
      if (command.startsWith("sudo -n mount")) return "mount: /srv/gone: wrong fs type, bad option, bad superblock on den-1234abcd.\n";
      return command.includes("/srv/ok") ? "0 virtiofs ro\n1 -\n" : "0 -\n";
    });
    await mountService.start(ctx);
    expect(commands).toContain("sudo -n mount /srv/gone 2>&1");
    const last = reports.at(-1);
    expect(last?.state).toBe("degraded");
    expect(last?.message).toBe('mount "/srv/gone" (virtiofs): it is not mounted: mount: /srv/gone: wrong fs type, bad option, bad superblock on den-1234abcd.');
  });
});

describe("sftpBackend", () => {
  const withDriver = (sftpDriver: "" | "builtin" | "openssh-sftp-server") => ({ sshfs: { cache: true, followSymlinks: false, sftpDriver } });
  test.each([
    { name: "builtin even when OpenSSH's is installed", driver: "builtin" as const, installed: true, want: { kind: "builtin" } },
    { name: "builtin (the jail) when nothing is chosen, even with OpenSSH's installed", driver: "" as const, installed: true, want: { kind: "builtin" } },
    { name: "builtin when nothing is chosen and OpenSSH's is missing", driver: "" as const, installed: false, want: { kind: "builtin" } },
    { name: "OpenSSH's when asked for", driver: "openssh-sftp-server" as const, installed: true, want: { kind: "openssh", path: "/usr/lib/openssh/sftp-server" } },
  ])("sftpBackend() picks $name", ({ driver, installed, want }) => {
    const isExecutable = (path: string) => installed && path === "/usr/lib/openssh/sftp-server";
    expect(sftpBackend(withDriver(driver), { PATH: "" }, { isExecutable })).toEqual(want as ReturnType<typeof sftpBackend>);
  });

  test("sftpBackend() explains a missing OpenSSH sftp-server the configuration asks for", () => {
    const backend = sftpBackend(withDriver("openssh-sftp-server"), { PATH: "" }, { isExecutable: () => false });
    expect(backend).toEqual({ problem: expect.stringContaining('sshfs.sftpDriver is "openssh-sftp-server" but no OpenSSH sftp-server is installed') });
  });
});
