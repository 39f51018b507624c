// What `den pause NAME` / `den resume NAME` do: freeze and thaw the VM's CPUs through the host agent (QMP stop / cont).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import { hostAgentRequest } from "../hostagent/api-client.ts";
import { InstanceYaml } from "../store/filenames.ts";
import { inspectInstance } from "../status/inspect.ts";
import type { InstanceStatus } from "../status/instance-info.ts";
import { existingInstanceDir } from "../store/instance-name.ts";
import { contextFrom } from "./context.ts";

interface Direction {
  verb: "pause" | "resume";
  from: InstanceStatus;
  to: InstanceStatus;
}

const Directions: Readonly<Record<Direction["verb"], Direction>> = {
  pause: { verb: "pause", from: "Running", to: "Paused" },
  resume: { verb: "resume", from: "Paused", to: "Running" },
};

/** What `den pause` / `den resume` do (declared in pause-command.ts): freeze or thaw the VM's CPUs. */
export async function runPauseOrResume(verb: Direction["verb"], name: string, self: CommandUnknownOpts): Promise<void> {
  const direction = Directions[verb];
  const ctx = contextFrom(self);
  const dir = await existingInstanceDir(ctx.denHome, name, { action: direction.verb });
  if (!(await Bun.file(join(dir, InstanceYaml)).exists())) {
    throw new DenError("INSTANCE_NOT_FOUND", `Cannot ${direction.verb} instance "${name}": it does not exist`, { hint: "see den list for the instances" });
  }
  const info = await inspectInstance(ctx.denHome, name, { logger: ctx.logger });
  if (info.status === direction.to) {
    ctx.logger.warn(`Instance "${name}" is already ${direction.to.toLowerCase()}`);
    return;
  }
  if (info.status !== direction.from) {
    throw new DenError("INSTANCE_STATE", `Cannot ${direction.verb} instance "${name}": it is ${info.status}, not ${direction.from}`, {
      hint: stateHint(name, info.status),
    });
  }
  await hostAgentRequest(info.dir, { method: "POST", path: `/v1/${direction.verb}`, timeoutMs: 30_000 });
  ctx.logger.info(`Instance "${name}" is ${direction.to.toLowerCase()}`);
}

function stateHint(name: string, status: InstanceStatus): string {
  if (status === "Stopped") return `start it first: den start ${name}`;
  if (status === "Starting") return "wait until den start reports it ready";
  if (status === "Broken") return `see den list --json ${name} for the reason; den stop -f ${name} recovers it`;
  return `see den list ${name}`;
}
