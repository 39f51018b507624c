// What `den start` does once the instance is ready, after the READY line: point the `den-NAME` docker context at the
// forwarded docker socket (when the host has a docker client), then show the template's `message:` (as Lima's
// ShowMessage: a header line, then the expanded text as is, for copying). Neither can fail the start: each problem is
// a warning.
import type { FilledDenYaml } from "../config/schema.ts";
import { dockerHostSocket } from "../docker-context/docker-context-args.ts";
import { type DockerContextIo, ensureDockerContext } from "../docker-context/ensure-docker-context.ts";
import { inspectInstance } from "../status/inspect.ts";
import { instanceMessage, type MessageHostFacts } from "../status/instance-message.ts";

export interface AfterReadyIo extends DockerContextIo {
  progress: (line: string) => void;
  warn: (line: string) => void;
  /** Where the message's text goes (den start's stdout), unprefixed. */
  stdout: (text: string) => void;
  host: MessageHostFacts;
}

export async function afterReady(denHome: string, name: string, options: { config: Pick<FilledDenYaml, "portForwards" | "message">; io: AfterReadyIo }): Promise<void> {
  const { config, io } = options;
  const socket = dockerHostSocket(config.portForwards);
  if (socket) {
    const outcome = await ensureDockerContext(name, { socket, io });
    if (outcome.kind === "failed") io.warn(outcome.message);
    else if (outcome.kind === "created" || outcome.kind === "updated") {
      io.progress(`Docker context "${outcome.context}" ${outcome.kind} (${outcome.host}); use it with "docker --context ${outcome.context} …" or "docker context use ${outcome.context}"`);
    }
  }
  if (config.message.trim() === "") return;
  try {
    const text = instanceMessage(await inspectInstance(denHome, name), io.host);
    if (text === undefined) return;
    io.progress(`Message from the instance "${name}":`);
    io.stdout(text.endsWith("\n") ? text : `${text}\n`);
  } catch (error) {
    io.warn(`Cannot show the message of instance "${name}": ${error instanceof Error ? error.message : String(error)}`);
  }
}
