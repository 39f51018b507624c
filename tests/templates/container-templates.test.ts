// The container templates keep Lima's semantics: den's containerd off where another engine runs, readiness probes,
// the engine's socket forwarded to <instance>/sock/<engine>.sock, kubeconfigs copied to the host, and a message
// that expands for the instance and names den's docker context or connection.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { builtinTemplates } from "../../lib/config/builtin-templates.ts";
import type { FilledDenYaml } from "../../lib/config/schema.ts";
import { validateTemplate } from "../../lib/config/validate-template.ts";
import { expandGoTemplate } from "../../lib/gotemplate/expand-go-template.ts";
import { templateContext } from "../lib/config/support/template-context.ts";
import { makeTempDir } from "../support/temp-dir.ts";

async function filled(name: string, set?: (config: FilledDenYaml) => void): Promise<{ config: FilledDenYaml; dir: string }> {
  const denHome = await makeTempDir("den-templates-");
  const ctx = await templateContext({ files: {}, denHome, builtinTemplates, readStdin: async () => "" });
  const { config } = await validateTemplate(`template:${name}`, ctx, { isDirectory: () => true });
  set?.(config);
  return { config, dir: join(denHome, name) };
}

/** The message as den start shows it, with every key the template uses required to exist. */
function message(config: FilledDenYaml, name: string, dir: string): string {
  return expandGoTemplate(config.message, { Name: name, Dir: dir, HostOS: "linux", Param: config.param }, { missingKey: "error", name: "message" });
}

const engines = [
  { template: "docker", engine: "docker", guestSocket: /^\/run\/user\/\d+\/docker\.sock$/, probe: "rootlesskit", connection: "docker --context den-docker" },
  { template: "docker-rootful", engine: "docker", guestSocket: /^\/var\/run\/docker\.sock$/, probe: "pgrep dockerd", connection: "docker --context den-docker-rootful" },
  { template: "podman", engine: "podman", guestSocket: /^\/run\/user\/\d+\/podman\/podman\.sock$/, probe: "command -v podman", connection: "podman system connection add den-podman" },
  { template: "podman-rootful", engine: "podman", guestSocket: /^\/run\/podman\/podman\.sock$/, probe: "command -v podman", connection: "podman system connection add den-podman-rootful" },
];

describe("the docker and podman templates", () => {
  test.each(engines)("template:$template switches den's containerd off", async ({ template }) => {
    const { config } = await filled(template);
    expect(config.containerd).toMatchObject({ system: false, user: false });
  });

  test.each(engines)("template:$template forwards its engine socket to the instance's sock/$engine.sock", async ({ template, engine, guestSocket }) => {
    const { config, dir } = await filled(template);
    const rules = config.portForwards.filter((rule) => rule.hostSocket === join(dir, "sock", `${engine}.sock`));
    expect(rules).toHaveLength(1);
    expect(rules[0]?.guestSocket).toMatch(guestSocket);
  });

  test.each(engines)("template:$template waits for its engine with a probe", async ({ template, probe }) => {
    const { config } = await filled(template);
    expect(config.probes.length).toBeGreaterThan(0);
    expect(config.probes.map((entry) => entry.script).join("\n")).toContain(probe);
  });

  test.each(engines)("template:$template tells how to connect with the name den-NAME and the instance's socket", async ({ template, engine, connection }) => {
    const { config, dir } = await filled(template);
    const text = message(config, template, dir);
    expect(text).toContain(connection);
    expect(text).toContain(`unix://${join(dir, "sock", `${engine}.sock`)}`);
    expect(text).toContain(`den ${engine} --instance ${template}`);
  });

  test.each([
    { template: "docker-rootful", path: "/etc/systemd/system/docker.socket.d/override.conf" },
    { template: "podman-rootful", path: "/etc/systemd/system/podman.socket.d/override.conf" },
  ])("template:$template gives the guest user the system socket, so that it can be forwarded", async ({ template, path }) => {
    const { config } = await filled(template);
    const entry = config.provision.find((item) => item.mode === "data" && item.path === path);
    expect(entry?.content).toBe(`[Socket]\nSocketUser=${config.user.name}\n`);
  });
});

describe("the kubernetes templates", () => {
  test.each([
    { template: "k3s", guest: "/etc/rancher/k3s/k3s.yaml", containerd: { system: false, user: false } },
    { template: "k8s", guest: "/root/.kube/config.localhost", containerd: { system: true, user: false } },
  ])("template:$template copies $guest to copied-from-guest/kubeconfig.yaml and says to use it", async ({ template, guest, containerd }) => {
    const { config, dir } = await filled(template);
    expect(config.containerd).toMatchObject(containerd);
    expect(config.copyToHost).toContainEqual({ guest, host: join(dir, "copied-from-guest", "kubeconfig.yaml"), deleteOnStop: true, skipIfMissing: false });
    expect(config.probes.length).toBeGreaterThan(0);
    expect(message(config, template, dir)).toContain(`export KUBECONFIG="${join(dir, "copied-from-guest", "kubeconfig.yaml")}"`);
  });

  test("template:k8s initialises a control plane by default", async () => {
    const { config } = await filled("k8s");
    const scripts = config.provision.map((entry) => entry.script ?? "").join("\n");
    expect(scripts).toContain("kubeadm init --config kubeadm-config.yaml");
    expect(scripts).not.toContain("kubeadm join");
    expect(config.probes.map((probe) => probe.script).join("\n")).toContain("kubectl wait -n kube-system");
  });

  test("template:k8s joins a cluster as a worker when param.url and param.token are set", async () => {
    const denHome = await makeTempDir("den-templates-");
    const worker = 'base: template:k8s\nparam:\n  url: "10.0.2.15:6443"\n  token: "abcdef.0123456789abcdef"\n  discoveryTokenCaCertHash: "sha256:00"\n';
    const ctx = await templateContext({ files: { "/cwd/k8s-1.yaml": worker }, denHome, builtinTemplates, readStdin: async () => "" });
    const { config } = await validateTemplate("k8s-1.yaml", ctx, { isDirectory: () => true });
    const scripts = config.provision.map((entry) => entry.script ?? "").join("\n");
    expect(scripts).toContain('apiServerEndpoint: "10.0.2.15:6443"');
    expect(scripts).toContain("kubeadm join --config kubeadm-config.yaml");
    expect(scripts).not.toContain("kubeadm init");
    expect(config.probes.map((probe) => probe.script).join("\n")).not.toContain("kubectl wait");
    const text = message(config, "k8s-1", join(denHome, "k8s-1"));
    expect(text).toContain("joined the cluster at 10.0.2.15:6443");
    expect(text).not.toContain("KUBECONFIG");
  });
});
