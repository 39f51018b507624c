// Whether a fault left a disk image intact: `qemu-img check` passes (it refuses a disk QEMU holds, so only call it
// while no QEMU runs). What qemu-img found is printed on a failure.
export function diskIntact(path: string): boolean {
  const check = Bun.spawnSync(["qemu-img", "check", "-q", path], { stdout: "pipe", stderr: "pipe" });
  if (check.exitCode !== 0) console.log(`qemu-img check ${path}: ${check.stdout.toString()}${check.stderr.toString()}`);
  return check.exitCode === 0;
}
