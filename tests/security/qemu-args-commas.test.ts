// Issue 12 #5: a comma in a value den puts into a QEMU option list must never start a new option. A mount folder
// named `/home/alice/proj,path=/,security_model=passthrough` used to export the host's root folder; a DEN_HOME with a
// comma broke every instance path. The golden cases pin the exact argv strings; the last test runs the real
// qemu-system-x86_64 on such an argv and reads back, from the running QEMU, the paths it actually opened.
import { afterEach, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountTag } from "../../cidata/seed-args.ts";
import { type QemuArgsContext, qemuArgs } from "../../drivers/qemu/qemu-args.ts";
import { connectQmp } from "../../drivers/qemu/qmp-client.ts";
import { fillDefaults } from "../../lib/config/defaults.ts";
import type { DenYaml, FilledDenYaml } from "../../lib/config/schema.ts";
import { virtiofsdCommand } from "../../lib/mounts/virtiofsd-command.ts";
import { freeTcpPort } from "../../lib/net/free-tcp-port.ts";
import { checkInstanceName } from "../../lib/store/instance-name.ts";
import { linuxHost as host } from "../fixtures/host-info.ts";

const GiB = 2 ** 30;

function fill(config: DenYaml, denHome: string): FilledDenYaml {
  return fillDefaults(config, { host, instanceName: "dev", instanceDir: join(denHome, "dev"), denHome });
}

function context(denHome: string, extra: Partial<QemuArgsContext> = {}): QemuArgsContext {
  return {
    instanceName: "dev",
    instanceDir: join(denHome, "dev"),
    host: { os: "Linux", arch: "x86_64" },
    accel: "tcg",
    sshLocalPort: 60022,
    macAddress: "52:55:55:12:34:56",
    qemuVersion: { major: 7, minor: 2, patch: 22 },
    ...extra,
  };
}

/** Every value that follows `flag` in `args`, in order. */
function valuesOf(args: string[], flag: string): string[] {
  return args.flatMap((arg, i) => (arg === flag && i + 1 < args.length ? [args[i + 1] as string] : []));
}

const Injection = "/home/alice/proj,path=/,security_model=passthrough";
const CommaHome = "/home/al,ice/.den";
const CommaDir = `${CommaHome}/dev`;
const EscapedDir = "/home/al,,ice/.den/dev";

describe("QEMU option values with commas", () => {
  test.each([
    {
      name: "a 9p mount location that tries to add its own path= and security_model=",
      denHome: "/home/alice/.den",
      config: { mountType: "9p", mounts: [{ location: Injection, writable: true }] } satisfies DenYaml,
      extra: {},
      want: { "-virtfs": [`local,mount_tag=${mountTag(Injection, Injection)},path=/home/alice/proj,,path=/,,security_model=passthrough,security_model=none`] },
    },
    {
      name: "a 9p securityModel that tries to add a path=",
      denHome: "/home/alice/.den",
      config: { mountType: "9p", mounts: [{ location: "/srv", "9p": { securityModel: "none,path=/" } }] } satisfies DenYaml,
      extra: {},
      want: { "-virtfs": [`local,mount_tag=${mountTag("/srv", "/srv")},path=/srv,security_model=none,,path=/,readonly=on`] },
    },
    {
      name: "DEN_HOME with a comma",
      denHome: CommaHome,
      config: {},
      extra: {},
      want: {
        "-drive": [`file=${EscapedDir}/disk,if=none,id=disk0,format=qcow2,discard=on`, `file=${EscapedDir}/cidata.iso,if=none,id=cidata,format=raw,readonly=on`],
        "-chardev": [
          `socket,id=char-serial,path=${EscapedDir}/serial.sock,server=on,wait=off,logfile=${EscapedDir}/serial.log`,
          `socket,id=char-ga,path=${EscapedDir}/ga.sock,server=on,wait=off`,
        ],
        "-qmp": [`unix:${EscapedDir}/qmp.sock,server=on,wait=off`],
        // -pidfile is a plain path: QEMU does not parse it as an option list, so the comma stays single.
        "-pidfile": [`${CommaDir}/qemu.pid`],
      },
    },
    {
      name: "DEN_HOME with a comma and virtiofs mounts",
      denHome: CommaHome,
      config: { mountType: "virtiofs", mounts: [{ location: "/srv/a,b" }] } satisfies DenYaml,
      extra: {},
      want: { "-chardev": [expect.any(String), expect.any(String), `socket,id=char-vfs0,path=${EscapedDir}/virtiofsd-0.sock`] },
    },
    {
      name: "firmware paths with commas",
      denHome: CommaHome,
      config: {},
      extra: { firmware: { code: "/opt/q,emu/share/qemu/edk2-x86_64-code.fd", vars: `${CommaDir}/efi-vars.fd` } },
      want: {
        "-drive": [
          "if=pflash,format=raw,readonly=on,file=/opt/q,,emu/share/qemu/edk2-x86_64-code.fd",
          `if=pflash,format=raw,file=${EscapedDir}/efi-vars.fd`,
          `file=${EscapedDir}/disk,if=none,id=disk0,format=qcow2,discard=on`,
          `file=${EscapedDir}/cidata.iso,if=none,id=cidata,format=raw,readonly=on`,
        ],
      },
    },
    {
      name: "kernel, initrd and command line with commas",
      denHome: CommaHome,
      config: {},
      extra: { kernel: { kernel: `${CommaDir}/kernel`, initrd: `${CommaDir}/initrd`, cmdline: "root=/dev/vda console=ttyS0,115200" } },
      // Plain arguments for a Linux kernel: a doubled comma would name another file.
      want: { "-kernel": [`${CommaDir}/kernel`], "-initrd": [`${CommaDir}/initrd`], "-append": ["root=/dev/vda console=ttyS0,115200"] },
    },
  ])("qemuArgs() escapes $name", ({ denHome, config, extra, want }) => {
    const { args } = qemuArgs(fill(config, denHome), context(denHome, extra));
    for (const [flag, values] of Object.entries(want)) expect(valuesOf(args, flag)).toEqual(values);
  });

  test("qemuArgs() keeps the ids and mount tags den makes plain", () => {
    const { args } = qemuArgs(fill({ mountType: "9p", mounts: [{ location: Injection }] }, CommaHome), context(CommaHome));
    expect(valuesOf(args, "-name")).toEqual(["den-dev"]);
    expect(valuesOf(args, "-device")).toContain("virtserialport,bus=virtio-serial0.0,chardev=char-ga,name=io.den.agent.0");
    expect(valuesOf(args, "-virtfs")[0]).toStartWith(`local,mount_tag=${mountTag(Injection, Injection)},`);
    expect(mountTag(Injection, Injection)).toMatch(/^den-[0-9a-f]{8}$/);
  });

  test("an instance name cannot carry a comma into -name: names are checked before any command runs", () => {
    expect(() => checkInstanceName("dev,debug-threads=on")).toThrow(expect.objectContaining({ code: "INSTANCE_NAME_INVALID" }));
  });

  test("virtiofsd gets the same mount folder escaped for libfuse's -o list", () => {
    const argv = virtiofsdCommand({
      binary: { path: "/usr/lib/qemu/virtiofsd", flavour: "c" },
      socketPath: `${CommaDir}/virtiofsd-0.sock`,
      location: "/srv/x,source=/",
      guest: { uid: 1000, gid: 1000 },
      unshare: undefined,
    });
    expect(argv).toEqual(["/usr/lib/qemu/virtiofsd", `--socket-path=${CommaDir}/virtiofsd-0.sock`, "-o", "source=/srv/x\\,source=/", "-o", "cache=auto"]);
  });

  test.each([
    { name: "a 9p mount location with a line break", denHome: "/home/alice/.den", config: { mountType: "9p", mounts: [{ location: "/srv/a\nb" }] } satisfies DenYaml, extra: {}, field: "mounts[0].location" },
    {
      name: "a virtiofs mount location with a line break",
      denHome: "/home/alice/.den",
      config: { mountType: "virtiofs", mounts: [{ location: "/srv/ok" }, { location: "/srv/a\rb" }] } satisfies DenYaml,
      extra: {},
      field: "mounts[1].location",
    },
    { name: "a DEN_HOME with a line break", denHome: "/home/alice/x\ny", config: {}, extra: {}, field: "the instance file" },
    {
      name: "a kernel command line with a line break",
      denHome: "/home/alice/.den",
      config: {},
      extra: { kernel: { kernel: "/home/alice/.den/dev/kernel", cmdline: "root=/dev/vda\ninit=/bin/sh" } },
      field: "the kernel command line",
    },
  ])("qemuArgs() refuses $name and names the field", ({ denHome, config, extra, field }) => {
    expect(() => qemuArgs(fill(config, denHome), context(denHome, extra))).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID", message: expect.stringContaining(`Cannot pass ${field} `), hint: expect.any(String) }),
    );
  });
});

describe("the real QEMU reads the escaped values whole", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  test("qemu-system-x86_64 opens the comma paths of DEN_HOME and of a 9p mount as single paths", async () => {
    const root = await mkdtemp(join(tmpdir(), "den-commas-"));
    dirs.push(root);
    const denHome = join(root, "h,ome");
    const dir = join(denHome, "dev");
    // A real folder whose name carries the injection: QEMU must export exactly it, not `/`.
    const location = join(root, "proj,path=/,security_model=passthrough");
    await mkdir(dir, { recursive: true });
    await mkdir(location, { recursive: true });
    await qemuImg(["create", "-q", "-f", "qcow2", join(dir, "disk"), "16M"]);
    await writeFile(join(dir, "cidata.iso"), new Uint8Array(1 << 20));

    const config = fill({ arch: "x86_64", cpus: 1, memory: "128MiB", mountType: "9p", mounts: [{ location, writable: true }] }, denHome);
    const { binary, args } = qemuArgs(config, { ...context(denHome), sshLocalPort: await freeTcpPort() });
    expect(binary).toBe("qemu-system-x86_64");
    // -S: the machine is built (files opened, sockets bound) but never runs a guest instruction.
    const child = spawn(binary, [...args, "-S"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      const qmpSock = join(dir, "qmp.sock");
      for (let waited = 0; !existsSync(qmpSock) && child.exitCode === null && waited < 15_000; waited += 50) await Bun.sleep(50);
      expect({ stderr, qmpSock: existsSync(qmpSock) }).toEqual({ stderr: "", qmpSock: true });
      const qmp = await connectQmp(qmpSock);
      try {
        const blocks = await qmp.execute<{ inserted?: { file: string } }[]>("query-block");
        expect(blocks.flatMap((block) => (block.inserted ? [block.inserted.file] : []))).toEqual([join(dir, "disk"), join(dir, "cidata.iso")]);
        const chardevs = await qmp.execute<{ label: string; filename: string }[]>("query-chardev");
        const byLabel = Object.fromEntries(chardevs.map((chardev) => [chardev.label, chardev.filename]));
        // e.g. "disconnected:unix:/tmp/…/h,ome/dev/serial.sock,server=on": the path, then QEMU's own options.
        expect(byLabel["char-serial"]).toEndWith(`unix:${join(dir, "serial.sock")},server=on`);
        expect(byLabel["char-ga"]).toEndWith(`unix:${join(dir, "ga.sock")},server=on`);
        // 9p keeps the exported folder open: its descriptor names the folder QEMU really shares.
        const pid = Number((await readFile(join(dir, "qemu.pid"), "utf8")).trim());
        const fds = await readdir(`/proc/${pid}/fd`);
        const opened = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")));
        expect(opened).toContain(location);
        expect(opened).not.toContain("/");
        expect(opened).toContain(join(dir, "serial.log"));
        await qmp.quit();
      } finally {
        await qmp.close();
      }
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    }
  }, 30_000);
});

function qemuImg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("qemu-img", args, { stdio: "ignore" });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`qemu-img ${args.join(" ")} exited with ${code}`))));
  });
}
