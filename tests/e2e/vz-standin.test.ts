// The VZ driver end to end on Linux: `vmType: vz` through den's CLI with DEN_VZ_HELPER naming the QEMU stand-in
// (tests/drivers/vz/support/vz-standin-helper.ts), which speaks the helper control protocol and runs the test guest
// with QEMU. One guest: create, start, shell, a virtiofs share, a guest port on the host, pause/resume, stop, delete,
// and no QEMU, virtiofsd or helper left behind. The real Virtualization.framework helper is not run here.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freeTcpPort } from "../../lib/net/free-tcp-port.ts";
import { inspectInstance } from "../../lib/status/inspect.ts";
import { bootFailureReport, den, guestTemplate, processesMentioning } from "./support/den-cli.ts";
import { ensureGuestImage, type GuestImage } from "./support/guest-image.ts";

const Name = "vz";
const home = mkdtempSync(join(tmpdir(), "den-vz-"));
const shared = join(home, "shared folder");
const standin = resolve(import.meta.dir, "../drivers/vz/support/vz-standin-helper.ts");
const helper = join(home, "den-vz-helper");
const savedHelper = process.env.DEN_VZ_HELPER;

let image: GuestImage;
beforeAll(async () => {
  image = await ensureGuestImage();
  mkdirSync(shared);
  writeFileSync(join(shared, "from-host.txt"), "hello from the host\n");
  // The helper den launches: `den-vz-helper serve -pidfile PATH` becomes the stand-in under bun, in the same process.
  writeFileSync(helper, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(standin)} "$@"\n`);
  chmodSync(helper, 0o755);
  // den() passes the test's environment on: every den command (and the host agent it starts) sees the stand-in.
  process.env.DEN_VZ_HELPER = helper;
}, 900_000);

afterAll(async () => {
  await den(home, ["stop", "-f", Name]);
  if (savedHelper === undefined) delete process.env.DEN_VZ_HELPER;
  else process.env.DEN_VZ_HELPER = savedHelper;
  rmSync(home, { recursive: true, force: true });
});

test(
  "a vmType vz instance boots through the helper protocol, shares a folder, forwards a port, pauses, stops and is deleted",
  async () => {
    const guestPort = await freeTcpPort();
    const yaml = guestTemplate(image, ["vmType: vz", "mountType: virtiofs", "mounts:", `- location: ${JSON.stringify(shared)}`, "  writable: false"].join("\n"), { mounts: false });
    writeFileSync(join(home, "guest.yaml"), yaml);
    const create = await den(home, ["create", join(home, "guest.yaml"), "--name", Name]);
    expect(create.exitCode).toBe(0);

    const start = await den(home, ["start", Name]);
    if (start.exitCode !== 0) console.error(await bootFailureReport(home, Name, start), "\n--- vz-helper.stderr.log:\n", (await readFile(join(home, Name, "vz-helper.stderr.log"), "utf8").catch(() => "")).slice(-2000));
    expect(start.exitCode).toBe(0);
    console.log(`vz stand-in e2e: den start took ${(start.ms / 1000).toFixed(1)} s`);
    const running = await inspectInstance(home, Name);
    expect(running).toMatchObject({ status: "Running", vmType: "vz" });
    const helperPid = running.driverPID as number;
    expect(helperPid).toBeGreaterThan(0);
    expect(Number((await readFile(join(home, Name, "vz.pid"), "utf8")).trim())).toBe(helperPid);

    const shell = await den(home, ["shell", "--workdir", "/", Name, "--", "sh", "-c", `uname -s; cat ${JSON.stringify(join(shared, "from-host.txt"))}`]);
    expect({ exitCode: shell.exitCode, stdout: shell.stdout }).toEqual({ exitCode: 0, stdout: "Linux\nhello from the host\n" });

    const serve = await den(home, ["shell", "--workdir", "/", Name, "--", "sudo", "systemd-run", "--unit", "den-vz-http", "-p", "WorkingDirectory=/etc", "python3", "-m", "http.server", String(guestPort), "--bind", "127.0.0.1"]);
    expect(serve.exitCode).toBe(0);
    let status = "";
    for (let i = 0; i < 60 && status !== "200"; i++) {
      await Bun.sleep(500);
      status = Bun.spawnSync(["curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${guestPort}/hostname`]).stdout.toString();
    }
    expect(status).toBe("200");

    expect((await den(home, ["pause", Name])).exitCode).toBe(0);
    expect((await inspectInstance(home, Name)).status).toBe("Paused");
    expect((await den(home, ["resume", Name])).exitCode).toBe(0);
    expect((await inspectInstance(home, Name)).status).toBe("Running");
    expect((await den(home, ["shell", Name, "--", "true"])).exitCode).toBe(0);

    const stop = await den(home, ["stop", Name]);
    expect(stop.exitCode).toBe(0);
    expect((await inspectInstance(home, Name)).status).toBe("Stopped");
    expect(await processesMentioning(home)).toEqual([]);

    expect((await den(home, ["delete", Name])).exitCode).toBe(0);
    expect(await processesMentioning(home)).toEqual([]);
  },
  { timeout: 900_000 },
);
