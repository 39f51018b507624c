// Whether the host CPU has AES instructions, which makes AES-GCM the faster SSH cipher (Lima's choice).
import { readFile } from "node:fs/promises";

let cached: Promise<boolean> | undefined;

/** True when the CPU accelerates AES: the `aes` flag in /proc/cpuinfo (Linux) or `hw.optional.aes` (macOS). */
export function hostHasAesNi(): Promise<boolean> {
  cached ??= detect();
  return cached;
}

/** Reads the `flags` (x86) or `Features` (arm64) lines of /proc/cpuinfo. */
export function cpuinfoHasAes(cpuinfo: string): boolean {
  return /^(?:flags|Features)\s*:.*\baes\b/m.test(cpuinfo);
}

async function detect(): Promise<boolean> {
  if (process.platform === "linux") {
    return cpuinfoHasAes(await readFile("/proc/cpuinfo", "utf8").catch(() => ""));
  }
  if (process.platform === "darwin") {
    // Apple silicon has no hw.optional.aes key but always has AES instructions.
    if (process.arch === "arm64") return true;
    const sysctl = Bun.spawnSync(["sysctl", "-n", "hw.optional.aes"], { stdin: "ignore", stderr: "ignore" });
    return sysctl.exitCode === 0 && sysctl.stdout.toString().trim() === "1";
  }
  return false;
}
