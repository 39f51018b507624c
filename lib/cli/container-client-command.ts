// The declarations of `den nerdctl|docker|podman|kubectl [--instance NAME] ARGS…`; what they do is in
// container-clients.ts, loaded when one runs.
import { Command } from "@commander-js/extra-typings";
import { DefaultInstanceName } from "../store/instance-name.ts";

export const ContainerClients = ["nerdctl", "docker", "podman", "kubectl"] as const;
export type ContainerClient = (typeof ContainerClients)[number];

/** Lima's LIMA_INSTANCE: the instance used when `--instance` is not given. */
export const InstanceEnv = "DEN_INSTANCE";

const Summaries: Record<ContainerClient, string> = {
  nerdctl: "run nerdctl (containerd) in an instance",
  docker: "run docker in an instance (docker templates)",
  podman: "run podman in an instance (podman templates)",
  kubectl: "run kubectl for an instance (k3s and k8s templates)",
};

const Details: Record<ContainerClient, string> = {
  nerdctl: "nerdctl runs in the guest as the guest user, in the guest folder that shows the host's working folder.",
  docker:
    "docker runs in the guest, in the guest folder that shows the host's working folder, against the engine whose socket the template forwards to <instance>/sock/docker.sock. " +
    "The host's own docker reaches that engine through the docker context den-NAME that den start creates.",
  podman:
    "podman runs in the guest, in the guest folder that shows the host's working folder; with a rootful template (podman-rootful) it is podman --remote on the forwarded system socket.",
  kubectl:
    "When the instance copied its kubeconfig to the host (<instance>/copied-from-guest/kubeconfig.yaml) and the host has kubectl (or $KUBECTL), the host's kubectl runs with KUBECONFIG set; " +
    "otherwise sudo kubectl runs in the guest.",
};

function declareContainerClient(client: ContainerClient) {
  return new Command(client)
    .summary(Summaries[client])
    .description(
      `${Summaries[client].replace(/^run/, "Run")}.\n\n${Details[client]}\n\n` +
        `Every word after den's options goes to ${client} as typed (den ${client} --help is ${client}'s help); the exit code is ${client}'s. ` +
        `The instance is --instance NAME, else $${InstanceEnv}, else ${DefaultInstanceName}.`,
    )
    .usage(`[--instance NAME] [--] [${client.toUpperCase()} ARGS...]`)
    // Kept for --help and completion; the words are read by parseClientArgs, which stops at the client's first word.
    .option("--instance <name>", `the instance (default: $${InstanceEnv}, else ${DefaultInstanceName})`)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument("[args...]");
}

export type ContainerClientOptions = ReturnType<ReturnType<typeof declareContainerClient>["opts"]>;

export function createContainerClientCommand(client: ContainerClient) {
  return declareContainerClient(client).action(async (args, options, self) => (await import("./container-clients.ts")).runContainerClient(client, args, options, self));
}
