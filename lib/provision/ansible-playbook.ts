// `provision: [{mode: ansible, playbook: PATH}]` (deprecated in Lima, still honoured): once the instance is ready,
// `den start` runs `ansible-playbook -i <instance>/ansible-inventory.yaml PATH` on the host, reaching the guest
// through the instance's ssh.config, with the template's params as PARAM_* in its environment (as Lima does).
// One rule more than Lima: a playbook inside a folder the guest can write to (a writable mount) is refused, since
// ansible runs it on the host and a playbook can run any local command.
import { realpath, writeFile } from "node:fs/promises";
import { join, relative, resolve, sep, isAbsolute } from "node:path";
import { stringify } from "yaml";
import type { FilledDenYaml, FilledMount, FilledProvision } from "../config/schema.ts";
import { DenError } from "../errors.ts";
import { shellQuote } from "../shell/quote.ts";
import { SshConfig } from "../store/filenames.ts";

/** Lima's name for the inventory it writes into the instance folder. */
export const AnsibleInventoryFile = "ansible-inventory.yaml";

/** The playbooks of the `mode: ansible` entries, in order. */
export function ansiblePlaybooks(provision: readonly Pick<FilledProvision, "mode" | "playbook">[]): string[] {
  return provision.filter((entry) => entry.mode === "ansible" && entry.playbook).map((entry) => entry.playbook as string);
}

/** The inventory: group `den`, host NAME, reached as `den-NAME` through `ssh -F <instance>/ssh.config`. */
export function ansibleInventory(options: { name: string; instanceDir: string }): string {
  const host = {
    ansible_connection: "ssh",
    ansible_host: `den-${options.name}`,
    // Ansible splits this with shlex: a folder with a space must stay one word.
    ansible_ssh_common_args: `-F ${shellQuote(join(options.instanceDir, SshConfig))}`,
  };
  return stringify({ den: { hosts: { [options.name]: host } } });
}

/** den's environment plus PARAM_<KEY> for each param. */
export function ansibleEnv(env: Record<string, string | undefined>, param: Record<string, string>): Record<string, string | undefined> {
  const out = { ...env };
  for (const [key, value] of Object.entries(param)) out[`PARAM_${key}`] = value;
  return out;
}

/** Why `playbook` may not run, or undefined: it lies in a folder the guest can write to. Paths already resolved. */
export function playbookProblem(playbook: string, writableFolders: readonly string[]): string | undefined {
  const folder = writableFolders.find((candidate) => {
    const inside = relative(candidate, playbook);
    return inside !== ".." && !inside.startsWith(`..${sep}`) && !isAbsolute(inside);
  });
  return folder === undefined ? undefined : `it is inside "${folder}", which the guest can write to (a writable mount), and ansible would run it on the host`;
}

/** The parts of the configuration ansible provisioning reads. */
export interface AnsibleConfig {
  provision: readonly Pick<FilledProvision, "mode" | "playbook">[];
  param: FilledDenYaml["param"];
  mounts: readonly Pick<FilledMount, "location" | "writable">[];
}

export interface AnsibleRunIo {
  env: Record<string, string | undefined>;
  /** Relative playbook paths are taken from here, as Lima takes them from its working directory. */
  cwd: string;
  /** Finds a program on PATH (Bun.which). */
  which: (program: string, options: { PATH: string }) => string | null;
  /** Runs argv with the user's terminal as its stdout/stderr; resolves with the exit code. */
  spawn: (argv: string[], options: { env: Record<string, string | undefined>; cwd: string }) => Promise<number | null>;
  /** One line for the user ("Running ansible playbook …"). */
  progress: (line: string) => void;
}

/** Runs every ansible playbook of `config`, in order; throws on the first that cannot run or fails. */
export async function runAnsibleProvisioning(config: AnsibleConfig, options: { name: string; instanceDir: string; io: AnsibleRunIo }): Promise<void> {
  const playbooks = ansiblePlaybooks(config.provision);
  if (playbooks.length === 0) return;
  const { io, name, instanceDir } = options;
  const writable = await Promise.all(config.mounts.filter((mount) => mount.writable).map((mount) => realpathOrSelf(resolve(io.cwd, mount.location))));
  const inventory = join(instanceDir, AnsibleInventoryFile);
  await writeFile(inventory, ansibleInventory({ name, instanceDir }), { mode: 0o600 });
  for (const playbook of playbooks) {
    const problem = playbookProblem(await realpathOrSelf(resolve(io.cwd, playbook)), writable);
    if (problem) {
      throw new DenError("PROVISION_FAILED", `Cannot run the ansible playbook "${playbook}": ${problem}`, {
        hint: "keep the playbook outside the folders the instance mounts writable",
      });
    }
    const program = io.which("ansible-playbook", { PATH: io.env.PATH ?? "" });
    if (!program) {
      throw new DenError("HOST_TOOL_MISSING", `Cannot run the ansible playbook "${playbook}": ansible-playbook is not installed on the host`, {
        hint: 'install ansible (e.g. "apt install ansible" or "pipx install ansible-core"), or remove the `mode: ansible` provision entry (deprecated in Lima)',
      });
    }
    io.progress(`Running ansible playbook "${playbook}"`);
    const code = await io.spawn([program, "-i", inventory, playbook], { env: ansibleEnv(io.env, config.param), cwd: io.cwd });
    if (code !== 0) {
      throw new DenError("PROVISION_FAILED", `Ansible playbook "${playbook}" failed: ansible-playbook exited with ${code === null ? "a signal" : `code ${code}`}`, {
        hint: `its output is above; the instance keeps running: fix the playbook and run "ansible-playbook -i ${inventory} ${playbook}"`,
      });
    }
  }
}

async function realpathOrSelf(path: string): Promise<string> {
  return realpath(path).catch(() => path);
}
