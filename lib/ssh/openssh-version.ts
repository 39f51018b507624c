// The local OpenSSH's version (`ssh -V`), asked once per process: it decides which options den may pass.
import { run } from "../process/run.ts";
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
    const { stdout, stderrTail } = await run([sshCommand[0] ?? "ssh", "-V"]);
    return parseOpensshVersion(stderrTail) ?? parseOpensshVersion(stdout);
  } catch {
    return undefined;
  }
}
