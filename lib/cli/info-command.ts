// The declaration of `den info [--yq EXPR]`; what it does is in info.ts, loaded when it runs.
import { Command } from "@commander-js/extra-typings";

function declareInfo() {
  return new Command("info").summary("print den's version, templates, default template and host as JSON").option("--yq <expr>", "apply a yq expression to the JSON", ".");
}

export type InfoOptions = ReturnType<ReturnType<typeof declareInfo>["opts"]>;

export function createInfoCommand() {
  return declareInfo().action(async (options, self) => (await import("./info.ts")).runInfo(options, self));
}
