// `den pause NAME` / `den resume NAME`: freeze and thaw the VM's CPUs through the host agent (QMP stop / cont).
import { Command } from "@commander-js/extra-typings";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import { hostAgentRequest } from "../hostagent/api-client.ts";
import { InstanceYaml } from "../store/filenames.ts";
import { inspectInstance } from "../status/inspect.ts";
import type { InstanceStatus } from "../status/instance-info.ts";
import { DefaultInstanceName, existingInstanceDir } from "../store/instance-name.ts";
import { contextFrom } from "./context.ts";

interface Direction {
  verb: "pause" | "resume";
  from: InstanceStatus;
  to: InstanceStatus;
}

const Pause: Direction = { verb: "pause", from: "Running", to: "Paused" };
const Resume: Direction = { verb: "resume", from: "Paused", to: "Running" };

export function createPauseCommand() {
  return directionCommand(Pause, "pause a running instance (its memory stays allocated)");
}

export function createResumeCommand() {
  return directionCommand(Resume, "resume a paused instance");
}

function directionCommand(direction: Direction, summary: string) {
  return new Command(direction.verb)
    .summary(summary)
    .argument("[instance]", "instance name", DefaultInstanceName)
    .action(async (name, _options, self) => {
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
    });
}

function stateHint(name: string, status: InstanceStatus): string {
  if (status === "Stopped") return `start it first: den start ${name}`;
  if (status === "Starting") return "wait until den start reports it ready";
  if (status === "Broken") return `see den list --json ${name} for the reason; den stop -f ${name} recovers it`;
  return `see den list ${name}`;
}
