// cidata/boot/boot.sh run for real in a fake root (DEN_BOOT_ROOT); see boot-fixture.ts.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { agentSeed, buildAgentBundle, preinstallRuntime, writeExecutable } from "./agent-fixture.ts";
import { IID, makeBootFixture } from "./boot-fixture.ts";

const script = (text: string) => ({ text: `#!/bin/bash\nset -eu\n${text}\n`, mode: 0o755 });
// Each provision script appends its name to $DEN_BOOT_ROOT/order.
const note = (name: string) => script(`echo ${name} >>"$DEN_BOOT_ROOT/order"`);
// den.env keys of one yq entry.
const yqEnv = (index: string, fields: Record<string, string>) =>
  Object.fromEntries(Object.entries(fields).map(([field, value]) => [`YQ_PROVISION_${index}_${field}`, value]));
// The yq tests run the real bundle on the host's bun, marked as installed in the fake root (preinstallRuntime), so
// 25-guestagent.sh keeps it and no test copies the ~100 MiB runtime.
let bundle = "";
beforeAll(async () => {
  bundle = await buildAgentBundle();
});

describe("boot.sh", () => {
  test("a full boot in a fake root exits 0 and writes every progress marker with the IID", async () => {
    await using fx = makeBootFixture();
    const run = fx.boot();
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    for (const marker of ["run/den-ssh-ready", "run/den-fuse-ready", "run/den-mounts-ready", "run/den-boot-done"]) {
      expect(fx.read(marker)).toBe(`${IID}\n`);
    }
    expect(run.console).toStartWith(`DEN| boot.sh start ${IID}\n`);
    expect(run.console).toEndWith(`DEN| boot done ${IID}\n`);
    expect(run.console).not.toContain("WARNING");
    expect(run.stdout).toContain(`DEN| boot done ${IID}`);
  });

  test("under den-boot.service the first boot with a cloud-config records its digest, and a later boot with the same one does not wait for cloud-init's config stage", async () => {
    const userData = "#cloud-config\nhostname: den-test\n";
    await using fx = makeBootFixture({ seed: { "user-data": userData } });
    const digest = new Bun.CryptoHasher("sha256").update(userData).digest("hex");
    const notWaited = "DEN| cloud-init's config stage applies the same settings as on an earlier boot: not waited for";
    const first = fx.boot({ DEN_BOOT_EARLY: "1" });
    expect(first.exitCode).toBe(0);
    expect(fx.read("var/lib/den/cloud-config-applied")).toBe(`${digest}\n`);
    expect(first.console).not.toContain(notWaited);
    const second = fx.boot({ DEN_BOOT_EARLY: "1" });
    expect(second.exitCode).toBe(0);
    expect(second.console).toContain(`${notWaited}\n`);
    expect(second.console).toEndWith(`DEN| boot done ${IID}\n`);
    // A changed configuration is waited for again, and recorded.
    fx.write("var/lib/den/cloud-config-applied", `${"0".repeat(64)}\n`);
    const changed = fx.boot({ DEN_BOOT_EARLY: "1" });
    expect(changed.console).not.toContain(notWaited);
    expect(fx.read("var/lib/den/cloud-config-applied")).toBe(`${digest}\n`);
    // Outside den-boot.service (boot.sh after cloud-init's config stage) nothing is recorded.
    await using plain = makeBootFixture({ seed: { "user-data": userData } });
    expect(plain.boot().exitCode).toBe(0);
    expect(plain.read("var/lib/den/cloud-config-applied")).toBeUndefined();
  });

  test("beside cloud-init's init stage boot.sh names the host in /etc/hosts again after boot/linux, in case cloud-init rewrote it meanwhile", async () => {
    // 99-rewrite stands in for cloud-init's update_etc_hosts, which may run after 06-etc-hosts in that mode.
    const rewrite = script(`printf '127.0.0.1 localhost\\n' >"$DEN_BOOT_ROOT/etc/hosts"`);
    const hostLine = "10.0.2.2\thost.den.internal host.lima.internal\n";
    await using beside = makeBootFixture({ scripts: ["boot/linux/06-etc-hosts.sh"], seed: { "boot/linux/99-rewrite.sh": rewrite } });
    const run = beside.boot({ DEN_BOOT_EARLY: "1", DEN_BOOT_BESIDE_INIT: "1" });
    expect(run.exitCode).toBe(0);
    expect(beside.read("etc/hosts")).toBe(`127.0.0.1 localhost\n${hostLine}`);
    expect(run.console).toEndWith(`DEN| boot done ${IID}\n`);
    // After cloud-init's init stage (den-boot.service) 06-etc-hosts runs once, in its turn.
    await using after = makeBootFixture({ scripts: ["boot/linux/06-etc-hosts.sh"], seed: { "boot/linux/99-rewrite.sh": rewrite } });
    expect(after.boot({ DEN_BOOT_EARLY: "1" }).exitCode).toBe(0);
    expect(after.read("etc/hosts")).toBe("127.0.0.1 localhost\n");
  });

  test("boot.sh runs essential scripts, then linux scripts, then data, system and user provisioning", async () => {
    await using fx = makeBootFixture({
      env: { DATAFILE_00000002_PATH: "/etc/den/data.txt", DATAFILE_00000002_OVERWRITE: "1", DATAFILE_00000002_PERMISSIONS: "644" },
      seed: {
        "boot/essential/50-note.sh": note("essential"),
        "boot/linux/99-note.sh": note("linux"),
        "provision.data/00000002": "data\n",
        // The system script proves the data file was already written when it ran.
        "provision.system/00000000": script(`echo "system0 $(cat "$DEN_BOOT_ROOT/etc/den/data.txt")" >>"$DEN_BOOT_ROOT/order"`),
        "provision.system/00000003": note("system3"),
        "provision.user/00000001": note("user1"),
        "provision.user/00000004": note("user4"),
      },
    });
    const run = fx.boot();
    expect(run.exitCode).toBe(0);
    expect(fx.read("order")).toBe("essential\nlinux\nsystem0 data\nsystem3\nuser1\nuser4\n");
    // The temp copies of the user scripts are removed again.
    expect(readdirSync(join(fx.root, "home/tester.guest"))).toEqual([]);
    const steps = run.console.split("\n").filter((line) => line.startsWith("DEN| running") || line.startsWith("DEN| writing"));
    expect(steps).toEqual([
      "DEN| running boot/essential/00-check-user.sh",
      "DEN| running boot/essential/01-root-sudoers.sh",
      "DEN| running boot/essential/50-note.sh",
      "DEN| running boot/linux/00-systemd-journal-group.sh",
      "DEN| running boot/linux/05-additional-disks.sh",
      "DEN| running boot/linux/05-guest-home.sh",
      "DEN| running boot/linux/05-rosetta.sh",
      "DEN| running boot/linux/06-etc-hosts.sh",
      "DEN| running boot/linux/07-etc-environment.sh",
      "DEN| running boot/linux/08-boot-beside-init.sh",
      "DEN| running boot/linux/20-rootless-base.sh",
      "DEN| running boot/linux/25-guestagent.sh",
      "DEN| running boot/linux/26-sshd-vsock.sh",
      "DEN| running boot/linux/30-install-packages.sh",
      "DEN| running boot/linux/35-setup-packages.sh",
      "DEN| running boot/linux/40-mounts-ready.sh",
      "DEN| running boot/linux/45-install-containerd.sh",
      "DEN| running boot/linux/99-note.sh",
      "DEN| writing data file /etc/den/data.txt",
      "DEN| running provision.system/00000000",
      "DEN| running provision.system/00000003",
      "DEN| running provision.user/00000001 as tester",
      "DEN| running provision.user/00000004 as tester",
    ]);
  });

  const awkwardValues = [
    { name: "quotes", value: `it's "quoted"` },
    { name: "spaces", value: "  two  spaces  " },
    { name: "dollar and command substitution", value: "$HOME $(touch pwned) `touch pwned2` ${IFS}" },
    { name: "newlines", value: "line one\nline two\n\n" },
    { name: "backslashes and globs", value: "a\\b\\\\ * ? [x] ~ ;|&<>" },
    { name: "unicode", value: "grüße 🦕" },
    { name: "empty", value: "" },
  ];
  test.each(awkwardValues)("PARAM_ values with $name reach system and user scripts unchanged", async ({ value }) => {
    const dump = (who: string) => script(`printf '%s' "$PARAM_VALUE" >"$DEN_BOOT_ROOT/${who}"; printf '%s' "\${PARAM_OTHER-unset}" >"$DEN_BOOT_ROOT/${who}-other"`);
    await using fx = makeBootFixture({
      params: { VALUE: value, OTHER: "x" },
      seed: { "provision.system/00000000": dump("system"), "provision.user/00000001": dump("user") },
    });
    const run = fx.boot();
    expect(run.exitCode).toBe(0);
    expect(fx.read("system")).toBe(value);
    expect(fx.read("user")).toBe(value);
    expect(fx.read("user-other")).toBe("x");
    // boot.sh runs with the fixture dir as its working directory, above root/ and seed/.
    for (const name of ["pwned", "pwned2"]) expect(existsSync(join(fx.dir, name))).toBe(false);
  });

  test.each(awkwardValues.filter((row) => !row.value.includes("\n") && row.value.trim() !== ""))(
    "a data file path with $name is used literally",
    async ({ value }) => {
      const path = `/srv/${value.replaceAll("/", "_")}/file`;
      await using fx = makeBootFixture({
        env: { DATAFILE_00000000_PATH: path, DATAFILE_00000000_OVERWRITE: "1", DATAFILE_00000000_PERMISSIONS: "600" },
        seed: { "provision.data/00000000": "payload" },
      });
      const run = fx.boot();
      expect(run.exitCode).toBe(0);
      expect(fx.read(path.slice(1))).toBe("payload");
      expect(statSync(join(fx.root, path)).mode & 0o777).toBe(0o600);
    },
  );

  test.each([
    { name: "overwrite off keeps an existing file", overwrite: "", existing: "old", wantText: "old", wantMode: 0o644 },
    { name: "overwrite on replaces an existing file", overwrite: "1", existing: "old", wantText: "new-content", wantMode: 0o640 },
    { name: "overwrite off still creates a missing file and its parents", overwrite: "", existing: undefined, wantText: "new-content", wantMode: 0o640 },
  ])("provision.data: $name", async ({ overwrite, existing, wantText, wantMode }) => {
    await using fx = makeBootFixture({
      env: { DATAFILE_00000000_PATH: "/etc/deep/dir/conf", DATAFILE_00000000_OVERWRITE: overwrite, DATAFILE_00000000_PERMISSIONS: "640", DATAFILE_00000000_OWNER: "root:root" },
      seed: { "provision.data/00000000": "new-content" },
      rootFiles: existing === undefined ? {} : { "etc/deep/dir/conf": existing },
    });
    const run = fx.boot();
    expect(run.exitCode).toBe(0);
    expect(fx.read("etc/deep/dir/conf")).toBe(wantText);
    expect(statSync(join(fx.root, "etc/deep/dir/conf")).mode & 0o777).toBe(wantMode);
  });

  test("a failing boot script logs a WARNING, later steps still run and boot.sh exits 1", async () => {
    await using fx = makeBootFixture({
      seed: {
        "boot/essential/50-fail.sh": script("exit 3"),
        "provision.system/00000000": note("system"),
        "provision.user/00000001": note("user"),
      },
    });
    const run = fx.boot();
    expect(run.exitCode).toBe(1);
    expect(run.console).toContain("DEN| WARNING boot/essential/50-fail.sh failed (exit 3)\n");
    expect(fx.read("order")).toBe("system\nuser\n");
    expect(fx.read("run/den-ssh-ready")).toBe(`${IID}\n`);
    expect(fx.read("run/den-boot-done")).toBe(`${IID}\n`);
  });

  test.each([
    { name: "system", dir: "provision.system" },
    { name: "user", dir: "provision.user" },
  ])("a failing $name script logs a WARNING, the next one still runs and boot.sh exits 1", async ({ dir }) => {
    await using fx = makeBootFixture({
      seed: { [`${dir}/00000000`]: script("exit 7"), [`${dir}/00000001`]: note("next") },
    });
    const run = fx.boot();
    expect(run.exitCode).toBe(1);
    expect(run.console).toContain(`DEN| WARNING ${dir}/00000000 failed (exit 7)\n`);
    expect(fx.read("order")).toBe("next\n");
    expect(fx.read("run/den-boot-done")).toBe(`${IID}\n`);
  });

  test("yq provisioning fails loudly when the seed carries no den-guestagent, and boot.sh exits 1", async () => {
    await using fx = makeBootFixture({
      env: { YQ_PROVISION_00000000_PATH: "/etc/app/conf.yaml", YQ_PROVISION_00000000_FORMAT: "yaml" },
      seed: { "provision.yq/00000000": ".a = 1", "provision.system/00000001": note("system") },
    });
    const run = fx.boot();
    expect(run.exitCode).toBe(1);
    expect(run.console).toContain(
      "DEN| WARNING yq provisioning needs the den guest agent, which this seed does not carry; skipped /etc/app/conf.yaml\n",
    );
    expect(run.console).toContain("DEN| WARNING provision.yq/00000000 failed\n");
    expect(fx.read("etc/app/conf.yaml")).toBeUndefined();
    expect(fx.read("order")).toBe("system\n");
  });

  test("yq provisioning fails loudly when 25-guestagent.sh could not install the runtime, and boot.sh exits 1", async () => {
    await using fx = makeBootFixture({
      env: { YQ_PROVISION_00000000_PATH: "/etc/app/conf.yaml", YQ_PROVISION_00000000_FORMAT: "yaml" },
      seed: { ...agentSeed(bundle), "provision.yq/00000000": ".a = 1", "provision.system/00000001": note("system") },
    });
    // No disk labelled DENRUNTIME: neither the udev link nor blkid finds one.
    writeExecutable(join(fx.dir, "tools/blkid"), "#!/bin/bash\nexit 2\n");
    const run = fx.boot({ PATH: `${join(fx.dir, "tools")}:${process.env.PATH}` });
    expect(run.exitCode).toBe(1);
    expect(run.console).toContain("DEN| WARNING boot/linux/25-guestagent.sh failed (exit 1)\n");
    expect(run.console).toContain(
      "DEN| WARNING yq provisioning needs the den guest agent's runtime, which boot/linux/25-guestagent.sh did not install; skipped /etc/app/conf.yaml\n",
    );
    expect(run.console).toContain("DEN| WARNING provision.yq/00000000 failed\n");
    expect(fx.read("etc/app/conf.yaml")).toBeUndefined();
    expect(fx.read("order")).toBe("system\n");
  });

  test("yq provisioning runs den-guestagent yq from the seed's bundle after data and before system scripts", async () => {
    await using fx = makeBootFixture({
      env: {
        ...yqEnv("00000001", { PATH: "/etc/app/conf.yaml", FORMAT: "auto", PERMISSIONS: "600" }),
        ...yqEnv("00000002", { PATH: "/etc/new/app.json", FORMAT: "auto", PERMISSIONS: "640" }),
        DATAFILE_00000000_PATH: "/etc/app/conf.yaml",
        DATAFILE_00000000_OVERWRITE: "1",
      },
      seed: {
        ...agentSeed(bundle),
        "provision.data/00000000": "# written by data\nname: app # keep me\nlist:\n  - a\n",
        "provision.yq/00000001": '.list += ["b"] | .name = "den"\n',
        "provision.yq/00000002": '.port = 8080 | .hosts = ["x"]',
        "provision.system/00000003": script(`stat -c 'system %a' "$DEN_BOOT_ROOT/etc/app/conf.yaml" >>"$DEN_BOOT_ROOT/order"`),
      },
    });
    preinstallRuntime(fx.root);
    const run = fx.boot();
    expect({ exitCode: run.exitCode, warnings: run.console.split("\n").filter((line) => line.includes("WARNING")) }).toEqual({ exitCode: 0, warnings: [] });
    expect(run.console).toContain("DEN| updating /etc/app/conf.yaml with provision.yq/00000001\n");
    expect(run.console).toContain("DEN| creating /etc/new/app.json with provision.yq/00000002\n");
    expect(fx.read("etc/app/conf.yaml")).toBe("# written by data\nname: den # keep me\nlist:\n  - a\n  - b\n");
    expect(fx.read("etc/new/app.json")).toBe('{\n  "port": 8080,\n  "hosts": [\n    "x"\n  ]\n}\n');
    expect(statSync(join(fx.root, "etc/new/app.json")).mode & 0o777).toBe(0o640);
    expect(fx.read("order")).toBe("system 600\n");
  });

  test("a yq expression den-guestagent rejects logs its error, leaves the file, the next step runs and boot.sh exits 1", async () => {
    await using fx = makeBootFixture({
      env: yqEnv("00000000", { PATH: "/etc/app.yaml", FORMAT: "yaml", PERMISSIONS: "644" }),
      seed: { ...agentSeed(bundle), "provision.yq/00000000": ".a = ", "provision.system/00000001": note("system") },
      rootFiles: { "etc/app.yaml": "a: 1\n" },
    });
    preinstallRuntime(fx.root);
    const run = fx.boot();
    expect(run.exitCode).toBe(1);
    expect(run.console).toContain('DEN| error: Cannot evaluate yq expression ".a = ": unexpected end of expression at column 6\n');
    expect(run.console).toContain("DEN| WARNING provision.yq/00000000 failed\n");
    expect(fx.read("etc/app.yaml")).toBe("a: 1\n");
    expect(fx.read("order")).toBe("system\n");
  });

  test("plain mode skips boot/linux but still runs essential scripts and provisioning", async () => {
    await using fx = makeBootFixture({
      env: { PLAIN: "1" },
      seed: { "boot/linux/99-note.sh": note("linux"), "boot/essential/50-note.sh": note("essential"), "provision.system/00000000": note("system") },
    });
    const run = fx.boot();
    expect(run.exitCode).toBe(0);
    expect(fx.read("order")).toBe("essential\nsystem\n");
    expect(run.console).toContain("DEN| plain mode: skipping boot/linux\n");
    expect(fx.read("run/den-ssh-ready")).toBeUndefined();
    expect(fx.read("run/den-boot-done")).toBe(`${IID}\n`);
  });

  test("markers left by the previous boot are removed before this boot rewrites them", async () => {
    await using fx = makeBootFixture({ env: { PLAIN: "1" } });
    for (const marker of ["run/den-ssh-ready", "run/den-mounts-ready", "run/den-fuse-ready", "run/den-boot-done"]) fx.write(marker, "iid-1\n");
    fx.boot();
    expect(fx.read("run/den-ssh-ready")).toBeUndefined();
    expect(fx.read("run/den-mounts-ready")).toBeUndefined();
    expect(fx.read("run/den-fuse-ready")).toBeUndefined();
    expect(fx.read("run/den-boot-done")).toBe(`${IID}\n`);
  });

  test("etc_environment settings are exported to the scripts boot.sh runs", async () => {
    await using fx = makeBootFixture({
      seed: {
        etc_environment: "#DEN-START\nhttp_proxy=http://proxy:3128\nODD=a b'c\"$d\n#DEN-END\n",
        "provision.system/00000000": script(`printf '%s|%s' "$http_proxy" "$ODD" >"$DEN_BOOT_ROOT/env"`),
      },
    });
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.read("env")).toBe(`http://proxy:3128|a b'c"$d`);
  });
});
