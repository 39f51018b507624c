// The declaration of `den ports NAME [--json]`; what it does is in ports.ts, loaded when it runs.
import { Command } from "@commander-js/extra-typings";
import { DefaultInstanceName } from "../store/instance-name.ts";

function declarePorts() {
  return new Command("ports")
    .summary("list the port forwards of a running instance, and the ones that fail")
    .argument("[instance]", "instance name", DefaultInstanceName)
    .option("--json", "print {state, message, forwards, failures} as JSON");
}

export type PortsOptions = ReturnType<ReturnType<typeof declarePorts>["opts"]>;

export function createPortsCommand() {
  return declarePorts().action(async (name, options, self) => (await import("./ports.ts")).runPorts(name, options, self));
}
