// Creates or updates the `den-NAME` docker context after `den start` (issue 14: host clients that just work). Never
// `docker context use`: switching the user's current context is the user's choice. Every failure is a warning for
// the caller to show; a missing docker client is not one (most hosts have none).
import type { RunOptions, RunResult } from "../process/run.ts";
import { createContextArgv, dockerContextName, dockerHost, inspectContextArgv, socketPathProblem, updateContextArgv } from "./docker-context-args.ts";

export interface DockerContextIo {
  /** Runs a program to completion (lib/process/run.ts). */
  run: (argv: readonly string[], options: RunOptions) => Promise<RunResult>;
  /** Finds a program on PATH (Bun.which). */
  which: (program: string, options: { PATH: string }) => string | null;
  /** The environment docker runs with: DOCKER_CONFIG chooses where contexts are stored. */
  env: Record<string, string | undefined>;
}

export type DockerContextOutcome =
  | { kind: "no-docker" }
  | { kind: "created" | "updated" | "unchanged"; context: string; host: string }
  | { kind: "failed"; context: string; message: string };

const TimeoutMs = 15_000;

/** Makes context `den-<instance>` point at `socket`, creating it when absent. */
export async function ensureDockerContext(instance: string, options: { socket: string; io: DockerContextIo }): Promise<DockerContextOutcome> {
  const { io, socket } = options;
  const docker = io.which("docker", { PATH: io.env.PATH ?? "" });
  if (!docker) return { kind: "no-docker" };
  const context = dockerContextName(instance);
  const host = dockerHost(socket);
  const problem = socketPathProblem(socket);
  if (problem) return { kind: "failed", context, message: `Cannot set up docker context "${context}": ${problem}` };
  const runOptions = { env: io.env, timeoutMs: TimeoutMs };
  try {
    const inspected = await io.run(inspectContextArgv(docker, context), runOptions);
    if (inspected.code === 0 && inspected.stdout.trim() === host) return { kind: "unchanged", context, host };
    const exists = inspected.code === 0;
    const argv = exists ? updateContextArgv(docker, { context, socket }) : createContextArgv(docker, { context, instance, socket });
    const done = await io.run(argv, runOptions);
    if (done.code !== 0) {
      const why = done.stderrTail.trim().split("\n").at(-1) ?? "";
      return { kind: "failed", context, message: `Cannot ${exists ? "update" : "create"} docker context "${context}": docker exited with code ${done.code ?? "none"}${why ? `: ${why}` : ""}` };
    }
    return { kind: exists ? "updated" : "created", context, host };
  } catch (error) {
    return { kind: "failed", context, message: `Cannot set up docker context "${context}": ${error instanceof Error ? error.message : String(error)}` };
  }
}
