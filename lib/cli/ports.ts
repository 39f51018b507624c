// What `den ports NAME [--json]` does: the port forwards of a running instance and the ones that fail, with reasons, as the
// host agent's "ports" service reports them (GET /v1/info, services.ports).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import { getHostAgentInfo } from "../hostagent/api-client.ts";
import { PortForwardReportSchema } from "../portfwd/port-forward-report.ts";
import { renderPortForwards } from "../portfwd/render-port-forwards.ts";
import { HostAgentStderrLog, InstanceYaml } from "../store/filenames.ts";
import { DefaultInfoTimeoutMs, inspectInstance } from "../status/inspect.ts";
import { existingInstanceDir } from "../store/instance-name.ts";
import { contextFrom } from "./context.ts";
import type { PortsOptions } from "./ports-command.ts";

/** What `den ports` does (declared in ports-command.ts). */
export async function runPorts(name: string, options: PortsOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const dir = await existingInstanceDir(ctx.denHome, name, { action: "list the ports of" });
  if (!(await Bun.file(join(dir, InstanceYaml)).exists())) {
    throw new DenError("INSTANCE_NOT_FOUND", `Cannot list the ports of instance "${name}": it does not exist`, { hint: "see den list for the instances" });
  }
  const status = (await inspectInstance(ctx.denHome, name, { logger: ctx.logger })).status;
  if (status !== "Running" && status !== "Starting" && status !== "Paused") {
    throw new DenError("INSTANCE_STATE", `Cannot list the ports of instance "${name}": it is ${status}`, {
      hint: status === "Stopped" ? `start it first: den start ${name}` : `see den list --json ${name} for the reason`,
    });
  }
  const info = await getHostAgentInfo(dir, { timeoutMs: DefaultInfoTimeoutMs });
  const service = info.services.ports;
  if (!service) {
    throw new DenError("INSTANCE_STATE", `Cannot list the ports of instance "${name}": its host agent runs no port forwarding`, {
      hint: info.status === "Starting" ? "port forwarding starts once the boot is done; try again in a moment" : "plain mode without static rules forwards no ports",
    });
  }
  const parsed = PortForwardReportSchema.safeParse(service.data ?? { forwards: [], failures: [] });
  if (!parsed.success) {
    throw new DenError("HOST_AGENT", `Cannot read the port forwards of instance "${name}": ${parsed.error.issues[0]?.message ?? "unexpected shape"}`, {
      hint: `den and the running host agent may be different versions: restart the instance; see ${join(dir, HostAgentStderrLog)}`,
    });
  }
  if (options.json) {
    ctx.stdout(`${JSON.stringify({ state: service.state, ...(service.message && { message: service.message }), ...parsed.data })}\n`);
    return;
  }
  ctx.stdout(renderPortForwards(parsed.data, { now: new Date() }));
}
