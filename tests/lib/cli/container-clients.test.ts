import { describe, expect, test } from "bun:test";
import { chmod, mkdir, realpath, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ContainerClient } from "../../../lib/cli/container-client-command.ts";
import { type ClientFacts, clientPlan, engineGuestSocket, parseClientArgs } from "../../../lib/cli/container-clients.ts";
import { DenError } from "../../../lib/errors.ts";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";
import { fakeSshBin, makeRunningInstance } from "./support/running-instance.ts";

describe("parseClientArgs()", () => {
  test.each([
    { words: [], env: {}, want: { instance: "default", args: [] } },
    { words: ["ps", "-a"], env: {}, want: { instance: "default", args: ["ps", "-a"] } },
    { words: ["--instance", "vm", "run", "--rm", "-it", "x"], env: {}, want: { instance: "vm", args: ["run", "--rm", "-it", "x"] } },
    { words: ["--instance=vm", "ps"], env: {}, want: { instance: "vm", args: ["ps"] } },
    { words: ["ps"], env: { DEN_INSTANCE: "dock" }, want: { instance: "dock", args: ["ps"] } },
    { words: ["--instance", "vm", "ps"], env: { DEN_INSTANCE: "dock" }, want: { instance: "vm", args: ["ps"] } },
    { words: ["--", "--instance", "vm"], env: {}, want: { instance: "default", args: ["--instance", "vm"] } },
    { words: ["--instance", "vm", "--", "--", "x"], env: {}, want: { instance: "vm", args: ["--", "x"] } },
    { words: ["run", "--instance", "vm"], env: {}, want: { instance: "default", args: ["run", "--instance", "vm"] } },
    { words: ["--help"], env: {}, want: { instance: "default", args: ["--help"] } },
    // An empty name is left to the instance-name check, which refuses it as it refuses every invalid name.
    { words: ["--instance=", "ps"], env: {}, want: { instance: "", args: ["ps"] } },
    { words: ["--debug", "ps"], env: { DEN_INSTANCE: "" }, want: { instance: "default", args: ["--debug", "ps"] } },
  ] as { words: string[]; env: Record<string, string>; want: { instance: string; args: string[] } }[])("parseClientArgs() reads $words with $env", ({ words, env, want }) => {
    expect(parseClientArgs(words, { env })).toEqual(want);
  });

  test.each([{ words: ["--instance"] }])("parseClientArgs() refuses $words", ({ words }) => {
    expect(() => parseClientArgs(words, { env: {} })).toThrow(DenError);
  });
});

const dir = "/home/u/.den/vm";
const rootfulDocker = { guestSocket: "/var/run/docker.sock", hostSocket: `${dir}/sock/docker.sock` };
const rootlessDocker = { guestSocket: "/run/user/501/docker.sock", hostSocket: `${dir}/sock/docker.sock` };
const rootlessPodman = { guestSocket: "/run/user/501/podman/podman.sock", hostSocket: `${dir}/sock/podman.sock` };
const rootfulPodman = { guestSocket: "/run/podman/podman.sock", hostSocket: `${dir}/sock/podman.sock` };
const elsewhere = { guestSocket: "/run/other.sock", hostSocket: "/tmp/docker.sock" };

function facts(extra: Partial<ClientFacts> = {}): ClientFacts {
  return { instanceDir: dir, portForwards: [], hasKubeconfig: false, ...extra };
}

describe("clientPlan()", () => {
  test.each([
    { name: "nerdctl runs in the guest as it is", client: "nerdctl", facts: facts({ portForwards: [rootfulDocker] }), want: { where: "guest", command: ["nerdctl", "ps"], env: {} } },
    { name: "docker without a forwarded socket uses the guest's default", client: "docker", facts: facts({ portForwards: [elsewhere] }), want: { where: "guest", command: ["docker", "ps"], env: {} } },
    {
      name: "docker targets the rootful socket the template forwards",
      client: "docker",
      facts: facts({ portForwards: [rootfulDocker] }),
      want: { where: "guest", command: ["docker", "ps"], env: { DOCKER_HOST: "unix:///var/run/docker.sock" } },
    },
    {
      name: "docker targets the rootless socket the template forwards",
      client: "docker",
      facts: facts({ portForwards: [elsewhere, rootlessDocker] }),
      want: { where: "guest", command: ["docker", "ps"], env: { DOCKER_HOST: "unix:///run/user/501/docker.sock" } },
    },
    { name: "rootless podman runs as the guest user", client: "podman", facts: facts({ portForwards: [rootlessPodman] }), want: { where: "guest", command: ["podman", "ps"], env: {} } },
    {
      name: "rootful podman goes through the forwarded system socket",
      client: "podman",
      facts: facts({ portForwards: [rootfulPodman] }),
      want: { where: "guest", command: ["podman", "--remote", "ps"], env: { CONTAINER_HOST: "unix:///run/podman/podman.sock" } },
    },
    { name: "podman without a forwarded socket runs as the guest user", client: "podman", facts: facts(), want: { where: "guest", command: ["podman", "ps"], env: {} } },
    {
      name: "kubectl runs on the host with the copied kubeconfig",
      client: "kubectl",
      facts: facts({ hasKubeconfig: true, hostKubectl: "/usr/bin/kubectl" }),
      want: { where: "host", argv: ["/usr/bin/kubectl", "ps"], env: { KUBECONFIG: `${dir}/copied-from-guest/kubeconfig.yaml` } },
    },
    { name: "kubectl without a host kubectl runs sudo kubectl in the guest", client: "kubectl", facts: facts({ hasKubeconfig: true }), want: { where: "guest", command: ["sudo", "kubectl", "ps"], env: {} } },
    {
      name: "kubectl without a copied kubeconfig runs sudo kubectl in the guest",
      client: "kubectl",
      facts: facts({ hostKubectl: "/usr/bin/kubectl" }),
      want: { where: "guest", command: ["sudo", "kubectl", "ps"], env: {} },
    },
  ] as { name: string; client: ContainerClient; facts: ClientFacts; want: unknown }[])("clientPlan(): $name", ({ client, facts, want }) => {
    expect(clientPlan(client, ["ps"], facts)).toEqual(want as never);
  });

  test("clientPlan() passes the client's words through untouched", () => {
    const words = ["run", "--rm", "-it", "-v", "$HOME:/h", "x", "sh", "-c", "echo 'a b' | wc -c", "--", "--instance"];
    expect(clientPlan("docker", words, facts())).toEqual({ where: "guest", command: ["docker", ...words], env: {} });
  });
});

test.each([
  { engine: "docker", rules: [rootfulDocker, rootfulPodman], want: "/var/run/docker.sock" },
  { engine: "podman", rules: [rootfulDocker, rootfulPodman], want: "/run/podman/podman.sock" },
  { engine: "docker", rules: [{ hostSocket: `${dir}/sock/docker.sock` }], want: undefined },
  { engine: "podman", rules: [rootfulDocker], want: undefined },
] as { engine: "docker" | "podman"; rules: ClientFacts["portForwards"]; want: string | undefined }[])("engineGuestSocket() finds the $engine socket forwarded to the instance's sock folder: $want", ({ engine, rules, want }) => {
  expect(engineGuestSocket(engine, { instanceDir: dir, portForwards: rules })).toBe(want);
});

const dockerYaml = (mount: string) => `images:
- location: /nonexistent/den-test.img
mounts:
- location: ${JSON.stringify(mount)}
portForwards:
- guestSocket: /var/run/docker.sock
  hostSocket: "{{.Dir}}/sock/docker.sock"
`;

describe("den docker, podman, nerdctl, kubectl", () => {
  test.each([
    { client: "docker", hint: "hint: create and start it: den start --name default template:docker" },
    { client: "podman", hint: "hint: create and start it: den start --name default template:podman" },
    { client: "kubectl", hint: "hint: create and start it: den start --name default template:k3s" },
    { client: "nerdctl", hint: "hint: create and start it: den start --name default, or" },
  ])("den $client names a missing instance and how to create it", async ({ client, hint }) => {
    const denHome = await makeDenHome();
    const run = await runDen([client, "ps"], { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('error: Cannot find instance "default": it does not exist');
    expect(run.stderr).toContain(hint);
  });

  test.each([
    { name: "--instance", args: ["docker", "--instance", "vm", "ps"], env: {} },
    { name: "DEN_INSTANCE", args: ["docker", "ps"], env: { DEN_INSTANCE: "vm" } },
  ] as { name: string; args: string[]; env: Record<string, string> }[])("den docker names a stopped instance picked by $name and says how to start it", async ({ args, env }) => {
    const denHome = await makeDenHome();
    await makeInstance(denHome, "vm");
    const run = await runDen(args, { denHome, env });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('error: Cannot connect to instance "vm": it is Stopped, not Running');
    expect(run.stderr).toContain("hint: start it: den start vm");
  });

  test("den docker runs docker in the guest's mapped folder on the forwarded engine with its words untouched and passes the exit code through", async () => {
    const denHome = await realpath(await makeDenHome());
    await using _vm = await makeRunningInstance(denHome, "vm", { port: 41023, yaml: dockerYaml(denHome) });
    const bin = await fakeSshBin(denHome);
    await mkdir(join(denHome, "project"));
    const run = await runDen(["docker", "--instance", "vm", "run", "--rm", "-it", "--tty=false", "--debug", "x", "echo", "it's"], {
      denHome,
      cwd: join(denHome, "project"),
      env: { PATH: `${bin}:${process.env.PATH}`, FAKE_EXIT: "3", COLORTERM: "", HOME: "/nonexistent-home" },
    });
    expect(run.exitCode).toBe(3);
    const argv = run.stdout.trim().split("\n");
    expect(argv[0]).toBe("argv: ssh");
    expect(argv).toContain(`ControlPath=${join(denHome, "vm", "ssh.sock")}`);
    expect(argv.slice(-5)).toEqual([
      "-p",
      "41023",
      "127.0.0.1",
      "--",
      `cd ${join(denHome, "project")} ; ` + String.raw`exec env DOCKER_HOST=unix:///var/run/docker.sock /bin/bash -l -c 'docker run --rm -it --tty=false --debug x echo '\''it'\''\'\'''\''s'\'''`,
    ]);
  });

  test("den kubectl runs the host's kubectl with the copied kubeconfig", async () => {
    const denHome = await makeDenHome();
    await using vm = await makeRunningInstance(denHome, "k3s");
    await mkdir(join(vm.dir, "copied-from-guest"), { recursive: true });
    await writeFile(join(vm.dir, "copied-from-guest", "kubeconfig.yaml"), "apiVersion: v1\n");
    const bin = join(denHome, "_kubebin");
    await mkdir(bin);
    await writeFile(join(bin, "kubectl"), '#!/bin/sh\necho "KUBECONFIG=$KUBECONFIG"\nfor arg in "$@"; do printf "%s\\n" "$arg"; done\nexit 4\n');
    await chmod(join(bin, "kubectl"), 0o755);
    const run = await runDen(["kubectl", "get", "nodes", "-o", "wide"], { denHome, env: { PATH: `${bin}:${process.env.PATH}`, DEN_INSTANCE: "k3s", KUBECTL: "" } });
    expect(run.exitCode).toBe(4);
    expect(run.stdout.trim().split("\n")).toEqual([`KUBECONFIG=${join(vm.dir, "copied-from-guest", "kubeconfig.yaml")}`, "get", "nodes", "-o", "wide"]);
  });

  test("den kubectl without a copied kubeconfig runs sudo kubectl in the guest", async () => {
    const denHome = await makeDenHome();
    await using _vm = await makeRunningInstance(denHome, "vm");
    const bin = await fakeSshBin(denHome);
    const run = await runDen(["kubectl", "--instance=vm", "get", "pods"], { denHome, env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim().split("\n").at(-1)).toBe("exec /bin/bash -l -c 'sudo kubectl get pods'");
  });
});
