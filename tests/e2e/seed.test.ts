// Issue 3 end to end: den's own seed ISO (cidata/write-seed.ts, with den's boot scripts) read by real cloud-init in the
// Debian test guest. Everything is checked from the host over SSH with den's generated key.
// Boots through the test-only launcher (tests/e2e/support/qemu-launch.ts); the lifecycle test boots through `den start`.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSeed } from "../../cidata/write-seed.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { guestAgentSeedEntries } from "../../lib/guestagent/guest-agent-seed-entry.ts";
import { prepareGuestAgent } from "../../lib/guestagent/prepare-guest-agent.ts";
import type { FilledDenYaml } from "../../lib/config/schema.ts";
import { ensureUserKey } from "../../lib/ssh/user-key.ts";
import { ensureGuestImage } from "./support/guest-image.ts";
import { launchGuest, type GuestHandle } from "./support/qemu-launch.ts";

// One SSH round trip under TCG on a shared, busy machine can take longer than bun's 5 s default.
setDefaultTimeout(60_000);

const name = "seed-e2e";
const mac = "52:55:55:aa:bb:01";
const iid = `iid-${Math.floor(Date.now() / 1000)}`;
// Quotes, `$`, backquotes, spaces and unicode: the value must arrive byte for byte and never run as code.
const greeting = `it's a "$HOME" \`id\` ünïcode`;
const envValue = "two words $x";

const template = `
cpus: 2
memory: 1GiB
mounts: []
# No nerdctl archive can be downloaded here; tests/e2e/containerd.test.ts covers containerd.
containerd: {system: false, user: false}
param:
  GREETING: ${JSON.stringify(greeting)}
env:
  DEN_E2E_VALUE: ${JSON.stringify(envValue)}
provision:
- mode: boot
  script: |
    #!/bin/sh
    printf '%s\\n' "$PARAM_GREETING" > /run/den-e2e-boot
- mode: data
  path: /etc/den-e2e/data.txt
  content: |
    hello data
  owner: "{{.User}}:{{.User}}"
  permissions: "640"
- mode: data
  path: /etc/den-e2e/app.yaml
  content: |
    # den e2e settings
    name: app # keep this comment
    list:
      - a
- mode: yq
  path: /etc/den-e2e/app.yaml
  expression: .name = "den" | .list += ["b"]
  permissions: "600"
- mode: yq
  path: /etc/den-e2e/new/settings.json
  expression: .port = 8080 | .user = "{{.User}}"
  owner: "{{.User}}:{{.User}}"
  permissions: "640"
- mode: yq
  path: "{{.Home}}/.config/den-e2e/settings.yaml"
  expression: .greeting = "hello"
  owner: "{{.User}}:{{.User}}"
- mode: system
  script: |
    #!/bin/bash
    set -eu
    printf 'system %s\\n' "$PARAM_GREETING" >> /var/tmp/den-order
    chmod 666 /var/tmp/den-order
- mode: user
  script: |
    #!/bin/bash
    set -eu
    printf 'user %s %s\\n' "$(id -un)" "$PARAM_GREETING" >> /var/tmp/den-order
`;

let dir: string;
let config: FilledDenYaml;
let identityFile: string;
let guest: GuestHandle;
let sshSeconds = 0;
let bootDoneSeconds = 0;

beforeAll(async () => {
  const image = await ensureGuestImage();
  dir = await mkdtemp(join(tmpdir(), "den-seed-e2e-"));
  const denHome = join(dir, "home");
  const instanceDir = join(denHome, name);
  const yaml = `images:\n- location: ${image.disk}\n  arch: x86_64\n${template}`;
  config = await loadConfig(yaml, { file: "seed-e2e.yaml", instanceName: name, instanceDir, denHome });
  await mkdir(instanceDir, { recursive: true, mode: 0o700 });
  const key = await ensureUserKey(denHome);
  identityFile = key.privateKeyPath;
  // The yq provisioning runs the guest agent from the seed, as `den start` puts it there.
  const agent = await prepareGuestAgent("x86_64", { denHome, env: process.env });
  if (!agent) throw new Error("no guest agent for x86_64: run bun scripts/build.ts --agent-only");
  const started = performance.now();
  const seed = await writeSeed(instanceDir, {
    guestAgent: guestAgentSeedEntries(agent),
    config,
    facts: { instanceName: name, iid, sshPublicKeys: [key.publicKey], macAddress: mac, hostHome: process.env.HOME ?? "/root" },
  });
  console.log(`seed e2e: cidata.iso ${seed.bytes} bytes written in ${(performance.now() - started).toFixed(0)} ms`);
  const bootStarted = performance.now();
  guest = await launchGuest({ image, seedIso: seed.path, runtimeDisk: agent.runtimeDisk, runDir: join(dir, "run"), mac });
  await guest.waitForSsh({ user: config.user.name, identityFile, timeoutMs: 300_000 });
  sshSeconds = (performance.now() - bootStarted) / 1000;
  // boot.sh runs in cloud-init's final stage, after sshd answers.
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    if ((await run("test -f /run/den-boot-done")).exitCode === 0) break;
    await Bun.sleep(2000);
  }
  bootDoneSeconds = (performance.now() - bootStarted) / 1000;
  console.log(`seed e2e: ssh up ${sshSeconds.toFixed(1)} s, boot scripts done ${bootDoneSeconds.toFixed(1)} s after launch`);
}, 900_000);

afterAll(async () => {
  await guest?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

function run(command: string) {
  return guest.ssh(config.user.name, identityFile, command);
}

async function stdoutOf(command: string): Promise<string> {
  const result = await run(command);
  expect({ command, exitCode: result.exitCode, stderr: result.stderr }).toEqual({ command, exitCode: 0, stderr: "" });
  return result.stdout;
}

test("the guest user has the configured name, uid, home and shell, and is not root", async () => {
  const user = config.user;
  expect(await stdoutOf("id -un; id -u")).toBe(`${user.name}\n${user.uid}\n`);
  const passwd = (await stdoutOf(`getent passwd ${user.name}`)).trim().split(":");
  expect({ uid: passwd[2], home: passwd[5], shell: passwd[6] }).toEqual({ uid: String(user.uid), home: user.home, shell: user.shell });
  expect(user.uid).not.toBe(0);
});

test("passwordless sudo works", async () => {
  expect(await stdoutOf("sudo -n id -u")).toBe("0\n");
});

test("the hostname is den-NAME", async () => {
  expect(await stdoutOf("hostname")).toBe("den-seed-e2e\n");
});

test("den.env on the mounted seed carries the instance values", async () => {
  const env = await stdoutOf("sudo sh -c 'set -a; . /mnt/den-cidata/den.env; printf \"%s|%s|%s|%s\" \"$DEN_CIDATA_NAME\" \"$DEN_CIDATA_IID\" \"$DEN_CIDATA_USER\" \"$DEN_CIDATA_UID\"'");
  expect(env).toBe(`${name}|${iid}|${config.user.name}|${config.user.uid}`);
});

test("env: values reach login sessions through /etc/environment unchanged", async () => {
  expect(await stdoutOf('printf "%s" "$DEN_E2E_VALUE"')).toBe(envValue);
});

test("a data file lands with its content, owner and permissions", async () => {
  const user = config.user.name;
  expect(await stdoutOf("stat -c '%U:%G %a' /etc/den-e2e/data.txt && cat /etc/den-e2e/data.txt")).toBe(`${user}:${user} 640\nhello data\n`);
});

test("a yq entry edited the data file in place, keeping its comments, and applied its permissions", async () => {
  expect(await stdoutOf("sudo stat -c '%U:%G %a' /etc/den-e2e/app.yaml && sudo cat /etc/den-e2e/app.yaml")).toBe(
    "root:root 600\n# den e2e settings\nname: den # keep this comment\nlist:\n  - a\n  - b\n",
  );
});

test("a yq entry created a missing JSON file and its folder with owner and permissions", async () => {
  const user = config.user.name;
  expect(await stdoutOf("stat -c '%U:%G %a' /etc/den-e2e/new/settings.json && cat /etc/den-e2e/new/settings.json")).toBe(
    `${user}:${user} 640\n{\n  "port": 8080,\n  "user": ${JSON.stringify(user)}\n}\n`,
  );
});

test("a yq entry owned by the user created its folders under the user's home as that user", async () => {
  const user = config.user.name;
  expect(await stdoutOf("cd ~/.config && stat -c '%U %n' . den-e2e den-e2e/settings.yaml && cat den-e2e/settings.yaml")).toBe(
    `${user} .\n${user} den-e2e\n${user} den-e2e/settings.yaml\ngreeting: hello\n`,
  );
});

test("system then user provision scripts ran once each, in order, with PARAM_ values intact", async () => {
  expect(await stdoutOf("cat /var/tmp/den-order")).toBe(`system ${greeting}\nuser ${config.user.name} ${greeting}\n`);
});

test("boot-mode provisioning ran from cloud-init bootcmd with PARAM_ values intact", async () => {
  expect(await stdoutOf("cat /run/den-e2e-boot")).toBe(`${greeting}\n`);
});

test("the boot-progress markers hold this boot's instance id", async () => {
  expect(await stdoutOf("cat /run/den-ssh-ready /run/den-mounts-ready /run/den-boot-done")).toBe(`${iid}\n${iid}\n${iid}\n`);
});

test("boot.sh logged its steps on the serial console and finished without warnings", async () => {
  const serial = await Bun.file(guest.serialLog).text();
  expect(serial).toContain(`DEN| boot.sh start ${iid}`);
  expect(serial).toContain(`DEN| boot done ${iid}`);
  expect(serial.split("\n").filter((line) => line.includes("DEN| WARNING"))).toEqual([]);
});
