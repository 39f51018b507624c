// A stopped instance folder as `den start` leaves it, without ever booting: a qcow2 `image`, the `disk` overlay on it
// (backing path absolute, as drivers/qemu/disk.ts makes it) and the files of an earlier run.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeInstance } from "../../store/support/fake-instance.ts";

/** Every file the stand-in has besides den.yaml, with its content ("" for the disk images). */
export const RunFiles: Readonly<Record<string, string>> = {
  "lima-version": "0.0.0\n",
  "ssh.config": "Host den-vm\n  Port 60022\n",
  "cidata.iso": "seed",
  "cloud-config.yaml": "#cloud-config\nhostname: den-vm\n",
  "ha.stdout.log": "{}\n",
  "ha.stderr.log": "",
  "serial.log": "boot\n",
  "efi-vars.fd": "vars",
  "vz-identifier": "id",
  "qemu.pid": "999999999\n",
  "ha.sock": "",
  "den.yaml.REJECTED": "cpus: [\n",
};

/** `qemu-img` with the given words; throws with its stderr when it fails. */
export function qemuImg(...args: string[]): string {
  const result = Bun.spawnSync(["qemu-img", ...args], { stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`qemu-img ${args.join(" ")}: ${result.stderr.toString()}`);
  return result.stdout.toString();
}

/** The backing file the overlay names, as qemu-img reports it. */
export function backingOf(disk: string): string | undefined {
  return (JSON.parse(qemuImg("info", "--output=json", disk)) as { "backing-filename"?: string })["backing-filename"];
}

/** Creates `<home>/<name>` with den.yaml (`yaml`), an image and its overlay disk, and the RunFiles. */
export async function makeStandIn(home: string, name: string, yaml?: string): Promise<string> {
  const dir = await makeInstance(home, name, yaml);
  qemuImg("create", "-q", "-f", "qcow2", join(dir, "image"), "16M");
  qemuImg("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", join(dir, "image"), join(dir, "disk"), "32M");
  for (const [file, text] of Object.entries(RunFiles)) await writeFile(join(dir, file), text);
  await mkdir(join(dir, "sock"));
  await writeFile(join(dir, "sock", "docker.sock"), "");
  return dir;
}
