import { expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { type AnsibleRunIo, ansibleInventory, ansiblePlaybooks, playbookProblem, runAnsibleProvisioning } from "../../../lib/provision/ansible-playbook.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

test("ansiblePlaybooks() lists the playbooks of the ansible entries in order", () => {
  const provision = [
    { mode: "system" as const, script: "#!/bin/sh\n" },
    { mode: "ansible" as const, playbook: "./site.yml" },
    { mode: "ansible" as const, playbook: "/abs/more.yml" },
  ];
  expect(ansiblePlaybooks(provision)).toEqual(["./site.yml", "/abs/more.yml"]);
});

test("ansibleInventory() reaches den-NAME through the instance's ssh.config", () => {
  expect(parse(ansibleInventory({ name: "vm", instanceDir: "/home/u/.den/vm" }))).toEqual({
    den: { hosts: { vm: { ansible_connection: "ssh", ansible_host: "den-vm", ansible_ssh_common_args: "-F /home/u/.den/vm/ssh.config" } } },
  });
  expect(parse(ansibleInventory({ name: "vm", instanceDir: "/my den/vm" })).den.hosts.vm.ansible_ssh_common_args).toBe("-F '/my den/vm/ssh.config'");
});

test.each([
  { name: "a playbook outside the writable mounts", playbook: "/home/u/site.yml", problem: undefined },
  { name: "a playbook in a read-only share only", playbook: "/tmp/ro/site.yml", problem: undefined },
  { name: "a playbook in a writable mount", playbook: "/tmp/den/site.yml", problem: 'it is inside "/tmp/den", which the guest can write to (a writable mount), and ansible would run it on the host' },
  { name: "a look-alike folder name", playbook: "/tmp/den-other/site.yml", problem: undefined },
])("playbookProblem() judges $name", ({ playbook, problem }) => {
  expect(playbookProblem(playbook, ["/tmp/den"])).toBe(problem);
});

/** A folder with a fake ansible-playbook that records its arguments and PARAM_ variables, and a playbook. */
async function fakeAnsible(exitCode: number) {
  const root = await makeTempDir("den-ansible-");
  const bin = join(root, "bin");
  const instanceDir = join(root, "vm");
  await mkdir(bin);
  await mkdir(instanceDir);
  await writeFile(join(bin, "ansible-playbook"), `#!/bin/sh\nprintf '%s\\n' "$@" "PARAM_greeting=$PARAM_greeting" > "${join(root, "called")}"\nexit ${exitCode}\n`);
  await chmod(join(bin, "ansible-playbook"), 0o755);
  await writeFile(join(root, "site.yml"), "- hosts: all\n");
  const progress: string[] = [];
  const io: AnsibleRunIo = {
    env: { PATH: `${bin}:/usr/bin:/bin` },
    cwd: root,
    which: Bun.which,
    spawn: (argv, options) =>
      new Promise((resolve) => spawn(argv[0] as string, argv.slice(1), { stdio: "ignore", env: options.env, cwd: options.cwd }).once("exit", (code) => resolve(code))),
    progress: (line) => progress.push(line),
  };
  return { root, instanceDir, io, progress };
}

const config = (playbook: string, mounts: { location: string; writable: boolean }[] = []) => ({
  provision: [{ mode: "ansible" as const, playbook }],
  param: { greeting: "hello world" },
  mounts: mounts.map((mount) => ({ ...mount, mountPoint: mount.location })),
});

test("runAnsibleProvisioning() runs ansible-playbook with the inventory, the playbook and the params", async () => {
  const { root, instanceDir, io, progress } = await fakeAnsible(0);
  await runAnsibleProvisioning(config("site.yml"), { name: "vm", instanceDir, io });
  const inventory = join(instanceDir, "ansible-inventory.yaml");
  expect((await readFile(join(root, "called"), "utf8")).split("\n")).toEqual(["-i", inventory, "site.yml", "PARAM_greeting=hello world", ""]);
  expect(parse(await readFile(inventory, "utf8")).den.hosts.vm.ansible_host).toBe("den-vm");
  expect(progress).toEqual(['Running ansible playbook "site.yml"']);
});

test("runAnsibleProvisioning() fails naming the playbook when ansible-playbook fails", async () => {
  const { instanceDir, io } = await fakeAnsible(2);
  const error = await rejectedDenError(runAnsibleProvisioning(config("site.yml"), { name: "vm", instanceDir, io }));
  expect(error.code).toBe("PROVISION_FAILED");
  expect(error.message).toBe('Ansible playbook "site.yml" failed: ansible-playbook exited with code 2');
});

test("runAnsibleProvisioning() says how to get ansible when it is not installed", async () => {
  const { instanceDir, io } = await fakeAnsible(0);
  const error = await rejectedDenError(runAnsibleProvisioning(config("site.yml"), { name: "vm", instanceDir, io: { ...io, env: { PATH: "/nonexistent" } } }));
  expect(error.code).toBe("HOST_TOOL_MISSING");
  expect(error.message).toBe('Cannot run the ansible playbook "site.yml": ansible-playbook is not installed on the host');
  expect(error.hint).toContain("install ansible");
});

test("runAnsibleProvisioning() refuses a playbook the guest could have written", async () => {
  const { root, instanceDir, io } = await fakeAnsible(0);
  const error = await rejectedDenError(runAnsibleProvisioning(config("site.yml", [{ location: root, writable: true }]), { name: "vm", instanceDir, io }));
  expect(error.code).toBe("PROVISION_FAILED");
  expect(error.message).toContain("which the guest can write to");
});
