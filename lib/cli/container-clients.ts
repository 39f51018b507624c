// What `den nerdctl|docker|podman|kubectl [--instance NAME] ARGS…` do: a container client run for the host user, as Lima's
// nerdctl.lima, docker.lima, podman.lima and kubectl.lima. Every word after den's own options goes to the client
// untouched, so these commands read their own arguments as `den shell` does.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { access, realpath } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { loadInstanceConfig } from "../config/load.ts";
import type { FilledPortForward } from "../config/schema.ts";
import { DenError, ExitError, excerpt } from "../errors.ts";
import { shellScript, shellSshArgs } from "../ssh/shell-command.ts";
import { SocketDir } from "../store/filenames.ts";
import { DefaultInstanceName, existingInstanceDir } from "../store/instance-name.ts";
import { type ContainerClient, type ContainerClientOptions, InstanceEnv } from "./container-client-command.ts";
import { contextFrom } from "./context.ts";
import { instanceSshOptions, ownWords, runInherited, runningInstance, sshCommand } from "./shell.ts";

/** Where copyToHost puts what it fetches from the guest (Lima's `copied-from-guest`). */
export const CopiedFromGuestDir = "copied-from-guest";
/** The kubeconfig the k3s and k8s templates copy to the host. */
export const KubeconfigFile = "kubeconfig.yaml";

export interface ClientArgs {
  instance: string;
  /** The client's own arguments, exactly as typed. */
  args: string[];
}

/**
 * Splits the words after the client name: den's `--instance NAME` (or `--instance=NAME`) may come first, and a `--`
 * right after den's options is dropped; from the first other word on, everything belongs to the client.
 */
export function parseClientArgs(words: readonly string[], options: { env: Readonly<Record<string, string | undefined>> }): ClientArgs {
  let instance = options.env[InstanceEnv] || DefaultInstanceName;
  let i = 0;
  for (; i < words.length; i++) {
    const word = words[i] as string;
    if (word === "--") {
      i++;
      break;
    }
    if (word === "--instance") {
      const next = words[i + 1];
      if (next === undefined) throw new DenError("USAGE", 'Cannot parse "--instance": it needs a value', { hint: "give the instance name: --instance NAME" });
      instance = next;
      i++;
    } else if (word.startsWith("--instance=")) {
      instance = word.slice("--instance=".length);
    } else {
      break;
    }
  }
  return { instance, args: words.slice(i) };
}

/** What a client run needs to know about the instance and the host; gathered by the command, so the plan is pure. */
export interface ClientFacts {
  instanceDir: string;
  /** The instance's filled `portForwards` (sockets already expanded). */
  portForwards: readonly Pick<FilledPortForward, "guestSocket" | "hostSocket">[];
  /** `<instance>/copied-from-guest/kubeconfig.yaml` exists. */
  hasKubeconfig: boolean;
  /** The host's kubectl (`$KUBECTL`, else `kubectl` on PATH), when there is one. */
  hostKubectl?: string | undefined;
}

/** Run `command` in the guest (through `den shell`'s script: mapped working directory, login shell) with `env` set. */
export interface GuestPlan {
  where: "guest";
  command: string[];
  env: Record<string, string>;
}

/** Run `argv` on the host with `env` added to den's environment. */
export interface HostPlan {
  where: "host";
  argv: string[];
  env: Record<string, string>;
}

export type ClientPlan = GuestPlan | HostPlan;

/**
 * How to run `client` with `args`:
 * - nerdctl runs in the guest as the guest user (rootless containerd, Lima's default).
 * - docker and podman run in the guest against the engine whose socket the template forwards to
 *   `<instance>/sock/{docker,podman}.sock`, so `den docker` and a host `docker --context den-NAME` see the same
 *   containers: DOCKER_HOST names that guest socket; a rootful Podman socket (not under /run/user/) is reached with
 *   `podman --remote`, since the guest user's own `podman` would use a separate rootless store.
 * - kubectl runs on the host with KUBECONFIG set when the instance copied its kubeconfig to the host and the host has
 *   kubectl (Lima's kubectl.lima); otherwise `sudo kubectl` in the guest, Lima's fallback (the k3s and k8s
 *   kubeconfigs belong to root).
 */
export function clientPlan(client: ContainerClient, args: readonly string[], facts: ClientFacts): ClientPlan {
  switch (client) {
    case "nerdctl":
      return { where: "guest", command: ["nerdctl", ...args], env: {} };
    case "docker": {
      const socket = engineGuestSocket("docker", facts);
      return { where: "guest", command: ["docker", ...args], env: socket === undefined ? {} : { DOCKER_HOST: `unix://${socket}` } };
    }
    case "podman": {
      const socket = engineGuestSocket("podman", facts);
      if (socket === undefined || socket.startsWith("/run/user/")) return { where: "guest", command: ["podman", ...args], env: {} };
      return { where: "guest", command: ["podman", "--remote", ...args], env: { CONTAINER_HOST: `unix://${socket}` } };
    }
    case "kubectl":
      if (facts.hasKubeconfig && facts.hostKubectl !== undefined) {
        return { where: "host", argv: [facts.hostKubectl, ...args], env: { KUBECONFIG: kubeconfigPath(facts.instanceDir) } };
      }
      return { where: "guest", command: ["sudo", "kubectl", ...args], env: {} };
  }
}

/** The guest socket a port-forward rule carries to `<instance>/sock/<engine>.sock`, Lima's template convention. */
export function engineGuestSocket(engine: "docker" | "podman", facts: Pick<ClientFacts, "instanceDir" | "portForwards">): string | undefined {
  const hostSocket = join(facts.instanceDir, SocketDir, `${engine}.sock`);
  return facts.portForwards.find((rule) => rule.hostSocket === hostSocket && rule.guestSocket)?.guestSocket ?? undefined;
}

export function kubeconfigPath(instanceDir: string): string {
  return join(instanceDir, CopiedFromGuestDir, KubeconfigFile);
}

/** The template a user would create the instance from, for the hint of a missing instance. */
const SuggestedTemplate: Record<ContainerClient, string> = {
  nerdctl: "",
  docker: " template:docker",
  podman: " template:podman",
  kubectl: " template:k3s",
};

/** What `den nerdctl|docker|podman|kubectl` do (declared in container-client-command.ts). */
export async function runContainerClient(client: ContainerClient, args: string[], options: ContainerClientOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const words = ownWords(self) ?? [...(options.instance === undefined ? [] : ["--instance", options.instance]), ...args];
  const parsed = parseClientArgs(words, { env: ctx.env });
  await existingInstanceDir(ctx.denHome, parsed.instance, {
    hint: `create and start it: den start --name ${parsed.instance}${SuggestedTemplate[client]}, or give another with --instance NAME (see den list)`,
  });
  const info = await runningInstance(ctx, parsed.instance);
  const config = await loadInstanceConfig(ctx.denHome, parsed.instance);
  const plan = clientPlan(client, parsed.args, {
    instanceDir: info.dir,
    portForwards: config.portForwards,
    hasKubeconfig: await exists(kubeconfigPath(info.dir)),
    hostKubectl: client === "kubectl" ? hostProgram(ctx.env.KUBECTL || "kubectl", ctx.env) : undefined,
  });
  let argv: string[];
  let env: Record<string, string | undefined> | undefined;
  if (plan.where === "host") {
    argv = plan.argv;
    env = { ...ctx.env, ...plan.env };
  } else {
    const ssh = sshCommand(ctx.env);
    const sshOptions = await instanceSshOptions(ctx, info, config, ssh);
    const script = shellScript({
      hostCwd: await realpath(ctx.cwd).catch(() => ctx.cwd),
      hostHome: ctx.env.HOME || homedir(),
      mounts: config.mounts,
      userShell: config.user.shell ?? undefined,
      command: plan.command,
      env: plan.env,
    });
    // A terminal only when both ends are one: `den docker save x > x.tar` must get the bytes without a TTY's
    // line-ending rewrite, and `den docker run -it` at a prompt gets its TTY.
    const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
    argv = shellSshArgs(sshOptions, { port: info.sshLocalPort ?? 0, script, interactive, colorterm: Boolean(ctx.env.COLORTERM), ssh });
  }
  ctx.logger.debug(`Running ${client}`, { instance: parsed.instance, where: plan.where, argv });
  const code = await runInherited(argv, plan.where === "host" ? { env, hint: `check that ${excerpt(argv[0] as string)} runs on this host, or unset KUBECTL` } : {});
  if (code !== 0) throw new ExitError(code);
}

/** `name` as a path: itself when it has a slash, else looked up in PATH. */
function hostProgram(name: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  return Bun.which(name, { PATH: env.PATH ?? "" }) ?? undefined;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
