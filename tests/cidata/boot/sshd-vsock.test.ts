// cidata/boot/linux/26-sshd-vsock.sh through boot.sh in a fake root (see boot-fixture.ts): /dev/vsock, sshd and
// systemd's generator output are plain files there. Enabling the socket needs a real guest with vsock (VZ).
import { describe, expect, test } from "bun:test";
import { makeBootFixture } from "./boot-fixture.ts";

const scripts = ["boot/linux/26-sshd-vsock.sh"];
const socketUnit = "etc/systemd/system/den-sshd-vsock.socket";
const serviceUnit = "etc/systemd/system/den-sshd-vsock@.service";
const sshd = "#!/bin/sh\n";

describe("linux/26-sshd-vsock.sh", () => {
  test("26-sshd-vsock.sh writes a vsock socket unit accepting on port 22 and a per-connection sshd -i service", async () => {
    await using fx = makeBootFixture({ scripts, rootFiles: { "dev/vsock": "" } });
    fx.write("usr/sbin/sshd", sshd);
    Bun.spawnSync(["chmod", "0755", `${fx.root}/usr/sbin/sshd`]);
    const first = fx.boot();
    expect(first.exitCode).toBe(0);
    expect(first.console).toContain("wrote /etc/systemd/system/den-sshd-vsock.socket");
    const socket = fx.read(socketUnit) ?? "";
    for (const line of ["ListenStream=vsock::22", "Accept=yes", "WantedBy=sockets.target"]) expect(socket).toContain(`${line}\n`);
    const service = fx.read(serviceUnit) ?? "";
    for (const line of ["ExecStart=-/usr/sbin/sshd -i", "StandardInput=socket", "RuntimeDirectoryPreserve=yes"]) expect(service).toContain(`${line}\n`);
    const second = fx.boot();
    expect(second.exitCode).toBe(0);
    expect(second.console).not.toContain("wrote");
  });

  test.each([
    { name: "does nothing in a guest without vsock", rootFiles: {}, console: undefined, exitCode: 0 },
    {
      name: "leaves vsock port 22 to systemd's own sshd-vsock.socket",
      rootFiles: { "dev/vsock": "", "run/systemd/generator/sshd-vsock.socket": "[Socket]\n" },
      console: "systemd serves sshd on vsock port 22 itself",
      exitCode: 0,
    },
    { name: "warns when the guest has no sshd", rootFiles: { "dev/vsock": "" }, console: "WARNING no sshd in the guest", exitCode: 1 },
  ])("26-sshd-vsock.sh $name", async ({ rootFiles, console, exitCode }) => {
    await using fx = makeBootFixture({ scripts, rootFiles });
    const run = fx.boot();
    expect(run.exitCode).toBe(exitCode);
    if (console) expect(run.console).toContain(console);
    expect(fx.read(socketUnit)).toBeUndefined();
    expect(fx.read(serviceUnit)).toBeUndefined();
  });

  test("26-sshd-vsock.sh removes its own units once systemd's generator serves vsock port 22", async () => {
    await using fx = makeBootFixture({ scripts, rootFiles: { "dev/vsock": "" } });
    fx.write("usr/sbin/sshd", sshd);
    Bun.spawnSync(["chmod", "0755", `${fx.root}/usr/sbin/sshd`]);
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.read(socketUnit)).toBeDefined();
    fx.write("run/systemd/generator/sshd-vsock.socket", "[Socket]\n");
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.read(socketUnit)).toBeUndefined();
    expect(fx.read(serviceUnit)).toBeUndefined();
  });
});
