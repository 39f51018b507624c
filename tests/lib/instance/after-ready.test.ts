import { expect, test } from "bun:test";
import { join } from "node:path";
import { loadInstanceConfig } from "../../../lib/config/load.ts";
import { afterReady } from "../../../lib/instance/after-ready.ts";
import { makeHome, makeInstance, MinimalYaml } from "../store/support/fake-instance.ts";

const host = { hostOS: "linux", hostArch: "x86_64", denHome: "/h", identityFile: "/h/_config/user" };

async function dockerInstance(message: string) {
  const home = await makeHome();
  const yaml = `${MinimalYaml}portForwards:\n- guestSocket: /run/docker.sock\n  hostSocket: "{{.Dir}}/sock/docker.sock"\nmessage: ${JSON.stringify(message)}\n`;
  const dir = await makeInstance(home, "vm", yaml);
  return { home, dir, config: await loadInstanceConfig(home, "vm") };
}

function recordingIo(options: { docker: string | null; inspect?: { code: number; stdout: string } }) {
  const out = { progress: [] as string[], warn: [] as string[], stdout: [] as string[], argv: [] as string[][] };
  const io = {
    env: {},
    which: () => options.docker,
    run: async (argv: readonly string[]) => {
      out.argv.push([...argv]);
      const inspect = argv[2] === "inspect" ? (options.inspect ?? { code: 1, stdout: "" }) : { code: 0, stdout: "" };
      return { ...inspect, signal: null, stderrTail: "" };
    },
    progress: (line: string) => out.progress.push(line),
    warn: (line: string) => out.warn.push(line),
    stdout: (text: string) => out.stdout.push(text),
    host,
  };
  return { io, out };
}

test("afterReady() creates the docker context, then prints the expanded message on stdout", async () => {
  const { home, dir, config } = await dockerInstance("Run:\ndocker --context den-{{.Name}} ps");
  const { io, out } = recordingIo({ docker: "/usr/bin/docker" });
  await afterReady(home, "vm", { config, io });
  const socket = join(dir, "sock", "docker.sock");
  expect(out.argv.map((argv) => argv.slice(0, 3).join(" "))).toEqual(["/usr/bin/docker context inspect", "/usr/bin/docker context create"]);
  expect(out.progress).toEqual([
    `Docker context "den-vm" created (unix://${socket}); use it with "docker --context den-vm …" or "docker context use den-vm"`,
    'Message from the instance "vm":',
  ]);
  expect(out.stdout).toEqual(["Run:\ndocker --context den-vm ps\n"]);
  expect(out.warn).toEqual([]);
});

test("afterReady() says nothing about an unchanged context or a host without docker", async () => {
  const { home, dir, config } = await dockerInstance("");
  for (const options of [{ docker: null }, { docker: "/usr/bin/docker", inspect: { code: 0, stdout: `unix://${join(dir, "sock", "docker.sock")}\n` } }]) {
    const { io, out } = recordingIo(options);
    await afterReady(home, "vm", { config, io });
    expect({ progress: out.progress, warn: out.warn, stdout: out.stdout }).toEqual({ progress: [], warn: [], stdout: [] });
  }
});

test("afterReady() turns a broken message into a warning", async () => {
  const { home, config } = await dockerInstance("{{.Name");
  const { io, out } = recordingIo({ docker: null });
  await afterReady(home, "vm", { config, io });
  expect(out.warn).toHaveLength(1);
  expect(out.warn[0]).toStartWith('Cannot show the message of instance "vm": ');
});
