// The local OpenSSH's version (`ssh -V`), asked once per process: it decides which options den may pass.
import { type OpensshVersion, parseOpensshVersion } from "./ssh-options.ts";

let cached: Promise<OpensshVersion | undefined> | undefined;

/** The version of `ssh` (the first word of `sshCommand`), or undefined when it cannot be run or is not OpenSSH. */
export function opensshVersion(sshCommand: readonly string[] = ["ssh"]): Promise<OpensshVersion | undefined> {
  cached ??= detect(sshCommand);
  return cached;
}

async function detect(sshCommand: readonly string[]): Promise<OpensshVersion | undefined> {
  try {
    // `ssh -V` prints its banner on stderr.
    const child = Bun.spawn([sshCommand[0] ?? "ssh", "-V"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    return parseOpensshVersion(stderr) ?? parseOpensshVersion(stdout);
  } catch {
    return undefined;
  }
}
