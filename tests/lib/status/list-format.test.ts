import { expect, test } from "bun:test";
import type { InstanceInfo } from "../../../lib/status/instance-info.ts";
import { renderInstanceJson, renderInstanceTable } from "../../../lib/status/list-format.ts";

function row(name: string, status: InstanceInfo["status"], extra: Partial<InstanceInfo> = {}): InstanceInfo {
  return {
    name,
    hostname: `den-${name}`,
    status,
    dir: `/home/u/.den/${name}`,
    sshConfigFile: `/home/u/.den/${name}/ssh.config`,
    sshAddress: "127.0.0.1",
    vmType: "qemu",
    arch: "x86_64",
    cpus: 4,
    memory: 4 * 1024 ** 3,
    disk: 100 * 1024 ** 3,
    sshLocalPort: 60022,
    ...extra,
  };
}

test("renderInstanceTable() prints Lima's columns padded by four, home as ~", () => {
  const text = renderInstanceTable(
    [row("default", "Running"), row("starting-vm", "Starting", { sshLocalPort: 0 }), row("b", "Broken", { errors: ["x"] })],
    { home: "/home/u" },
  );
  expect(text).toBe(
    [
      "NAME           STATUS      SSH                VMTYPE    ARCH      CPUS    MEMORY    DISK      DIR",
      "default        Running     127.0.0.1:60022    qemu      x86_64    4       4GiB      100GiB    ~/.den/default",
      "starting-vm    Starting    127.0.0.1:0        qemu      x86_64    4       4GiB      100GiB    ~/.den/starting-vm",
      "b              Broken      127.0.0.1:60022    qemu      x86_64    4       4GiB      100GiB    ~/.den/b",
      "",
    ].join("\n"),
  );
});

test.each([{ status: "Stopped" as const }, { status: "Paused" as const }])("renderInstanceTable() shows the $status status as is", ({ status }) => {
  expect(renderInstanceTable([row("a", status)], { home: "/nowhere" }).split("\n")[1]).toContain(`${status}  `);
});

test("renderInstanceJson() prints one compact object per line", () => {
  const text = renderInstanceJson([row("a", "Paused"), row("b", "Stopped")]);
  expect(text.split("\n").map((line) => (line === "" ? "" : JSON.parse(line).status))).toEqual(["Paused", "Stopped", ""]);
});
