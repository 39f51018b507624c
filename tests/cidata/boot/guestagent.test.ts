// cidata/boot/linux/25-guestagent.sh through boot.sh in a fake root (see boot-fixture.ts); the systemctl steps need a
// real guest and are covered by tests/e2e/guest-agent.test.ts.
import { expect, test } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { makeBootFixture } from "./boot-fixture.ts";

const scripts = ["boot/linux/25-guestagent.sh"];

test("25-guestagent.sh installs the agent and its unit, and the second boot changes nothing", async () => {
  await using fx = makeBootFixture({ scripts, seed: { "den-guestagent": { text: "#!/bin/sh\necho agent v1\n", mode: 0o755 } } });
  const first = fx.boot();
  expect(first.exitCode).toBe(0);
  expect(first.console).toContain("installed /usr/local/bin/den-guestagent");
  expect(fx.read("usr/local/bin/den-guestagent")).toBe("#!/bin/sh\necho agent v1\n");
  expect(statSync(join(fx.root, "usr/local/bin/den-guestagent")).mode & 0o777).toBe(0o755);
  const unit = fx.read("etc/systemd/system/den-guestagent.service") ?? "";
  for (const line of ["ExecStart=/usr/local/bin/den-guestagent serve", "Restart=always", "OOMScoreAdjust=-500", "WantedBy=multi-user.target"]) expect(unit).toContain(line);
  const second = fx.boot();
  expect(second.exitCode).toBe(0);
  expect(second.console).not.toContain("installed");
  expect(second.console).not.toContain("wrote den-guestagent.service");
});

test("25-guestagent.sh replaces an agent that differs from the seed's", async () => {
  await using fx = makeBootFixture({ scripts, seed: { "den-guestagent": { text: "new", mode: 0o755 } }, rootFiles: { "usr/local/bin/den-guestagent": "old" } });
  expect(fx.boot().console).toContain("installed /usr/local/bin/den-guestagent");
  expect(fx.read("usr/local/bin/den-guestagent")).toBe("new");
});

test("25-guestagent.sh skips quietly when the seed has no agent", async () => {
  await using fx = makeBootFixture({ scripts });
  const run = fx.boot();
  expect(run.exitCode).toBe(0);
  expect(run.console).toContain("no den-guestagent in the seed: skipped");
  expect(fx.read("etc/systemd/system/den-guestagent.service")).toBeUndefined();
});

test.each([
  { name: "the virtio port when the VM has one, even with vsock", devices: ["dev/virtio-ports/io.den.agent.0", "dev/vsock"], serve: "serve" },
  { name: "vsock port 2222 when the guest has vsock and no virtio port (VZ)", devices: ["dev/vsock"], serve: "serve --vsock 2222" },
  { name: "the virtio port when neither exists yet", devices: [], serve: "serve" },
])("25-guestagent.sh serves $name", async ({ devices, serve }) => {
  await using fx = makeBootFixture({
    scripts,
    seed: { "den-guestagent": { text: "agent", mode: 0o755 } },
    rootFiles: Object.fromEntries(devices.map((path) => [path, ""])),
  });
  expect(fx.boot().exitCode).toBe(0);
  const execStart = (fx.read("etc/systemd/system/den-guestagent.service") ?? "").split("\n").find((line) => line.startsWith("ExecStart="));
  expect(execStart).toBe(`ExecStart=/usr/local/bin/den-guestagent ${serve}`);
});

test("25-guestagent.sh rewrites the unit when the transport changes", async () => {
  await using fx = makeBootFixture({ scripts, seed: { "den-guestagent": { text: "agent", mode: 0o755 } }, rootFiles: { "dev/virtio-ports/io.den.agent.0": "" } });
  expect(fx.boot().exitCode).toBe(0);
  rmSync(join(fx.root, "dev/virtio-ports"), { recursive: true });
  fx.write("dev/vsock", "");
  const second = fx.boot();
  expect(second.console).toContain("wrote den-guestagent.service");
  expect(fx.read("etc/systemd/system/den-guestagent.service")).toContain("ExecStart=/usr/local/bin/den-guestagent serve --vsock 2222\n");
});
