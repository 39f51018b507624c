// The declarations of `den start [NAME|TEMPLATE]`, `den restart [NAME]` and the hidden `den hostagent NAME` they
// launch; what they do is in start.ts, loaded when one runs.
import { Command, Option } from "@commander-js/extra-typings";
import { DenError, excerpt } from "../errors.ts";
import { DefaultInstanceName } from "../store/instance-name.ts";
import { addEditOptions } from "./edit-options.ts";

function declareStart() {
  return new Command("start")
    .summary("start an instance (creating it first when given a template)")
    .description(
      "Start instance NAME (default: default). Given a template locator instead (template:NAME, a path or URL), create\n" +
        "the instance from it first. Progress is shown per boot stage; a failure names the stage and shows the console.",
    )
    .argument("[instance]", "instance name or template locator")
    .option("--name <name>", "instance name when creating from a template")
    .addOption(new Option("--timeout <duration>", "give up (and stop the instance) after this long").default("10m"))
    .option("--foreground", "keep the host agent in the foreground until the instance stops");
}

function declareRestart() {
  return new Command("restart")
    .summary("stop and start an instance")
    .argument("[instance]", "instance name", DefaultInstanceName)
    .option("-f, --force", "force-stop (kill) instead of a clean shutdown")
    .addOption(new Option("--timeout <duration>", "give up starting after this long").default("10m"));
}

function declareHostAgent() {
  return new Command("hostagent")
    .summary("run the host agent of an instance (started by den start)")
    .argument("<instance>", "instance name")
    .addOption(new Option("--start-deadline <epoch-ms>", "when den start gives up (ms since the epoch); the readiness checks end before it").argParser(parseEpochMs));
}

/** The typed options; the edit flags are read with editFlagsFrom(). */
export type StartOptions = ReturnType<ReturnType<typeof declareStart>["opts"]>;
export type RestartOptions = ReturnType<ReturnType<typeof declareRestart>["opts"]>;
export type HostAgentOptions = ReturnType<ReturnType<typeof declareHostAgent>["opts"]>;

export function createStartCommand() {
  const command = declareStart();
  addEditOptions(command);
  command.action(async (target, options, self) => (await import("./start.ts")).runStart(target, options, self));
  return command;
}

export function createRestartCommand() {
  return declareRestart().action(async (name, options, self) => (await import("./start.ts")).runRestart(name, options, self));
}

/** The hidden daemon command; its stdout is ha.stdout.log and its stderr ha.stderr.log. */
export function createHostAgentCommand() {
  return declareHostAgent().action(async (name, options, self) => (await import("./start.ts")).runHostAgentCommand(name, options, self));
}

function parseEpochMs(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new DenError("USAGE", `Cannot use --start-deadline "${excerpt(text)}": not a time in milliseconds since the epoch`, { hint: "den start passes it; run den start instead" });
  }
  return value;
}
