// What `den snapshot create|apply|delete|list` do, as limactl snapshot: a running (or paused) instance is snapshotted
// by its host agent, which owns the VM's monitor (QEMU: HMP savevm/loadvm/delvm/info snapshots, memory included); a
// stopped one by the driver on its disk (QEMU: qemu-img snapshot), under the instance lock so that no `den start`
// boots the disk meanwhile. Any other state is refused, and so is a driver without snapshots.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { join } from "node:path";
import { createDriver } from "../../drivers/registry.ts";
import { loadInstanceConfig } from "../config/load.ts";
import { DenError, excerpt } from "../errors.ts";
import { hostAgentSnapshot } from "../hostagent/api-client.ts";
import { type SnapshotAction, SnapshotTagSchema } from "../hostagent/api-schema.ts";
import type { Logger } from "../log.ts";
import { inspectInstance } from "../status/inspect.ts";
import type { InstanceStatus } from "../status/instance-info.ts";
import { InstanceYaml } from "../store/filenames.ts";
import { acquireInstanceLock } from "../store/instance-lock.ts";
import { existingInstanceDir } from "../store/instance-name.ts";
import { contextFrom } from "./context.ts";
import type { SnapshotListOptions, SnapshotTagOptions } from "./snapshot-command.ts";

/**
 * How long the host agent may take. savevm writes the guest's memory into the disk and loadvm reads it back: seconds
 * per GiB, more under TCG; delvm and the list are quick.
 */
export const SnapshotTimeoutsMs: Readonly<Record<SnapshotAction | "list", number>> = { create: 600_000, apply: 600_000, delete: 120_000, list: 30_000 };
/** How long a stopped instance's snapshot waits for another den command (start, delete) to release the instance. */
const LockWaitMs = 10_000;

const Words: Readonly<Record<SnapshotAction | "list", { verb: string; done: string }>> = {
  create: { verb: "create a snapshot of", done: "Created" },
  apply: { verb: "apply a snapshot to", done: "Applied" },
  delete: { verb: "delete a snapshot of", done: "Deleted" },
  list: { verb: "list the snapshots of", done: "Listed" },
};

export interface SnapshotRequest {
  action: SnapshotAction | "list";
  /** Required for every action but "list". */
  tag?: string | undefined;
}

export interface SnapshotIo {
  logger: Logger;
  env: Record<string, string | undefined>;
}

/** What `den snapshot create|apply|delete` do (declared in snapshot-command.ts). */
export async function runSnapshot(action: SnapshotAction, name: string, options: SnapshotTagOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const tag = checkSnapshotTag(options.tag, { action, name });
  await snapshotInstance(ctx.denHome, name, { action, tag }, { logger: ctx.logger, env: ctx.env });
  ctx.logger.info(`${Words[action].done} snapshot "${tag}" ${action === "apply" ? "to" : "of"} instance "${name}"`);
}

/** What `den snapshot list` does: the backend's table as Lima prints it, or with `--quiet` the tags alone. */
export async function runSnapshotList(name: string, options: SnapshotListOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const table = await snapshotInstance(ctx.denHome, name, { action: "list" }, { logger: ctx.logger, env: ctx.env });
  if (!options.quiet) {
    ctx.stdout(table);
    return;
  }
  const tags = snapshotTags(table);
  ctx.stdout(tags.map((tag) => `${tag}\n`).join(""));
}

/** The tag of `--tag`, checked; a missing or malformed one is a usage error naming the instance. */
export function checkSnapshotTag(tag: string | undefined, where: { action: SnapshotAction; name: string }): string {
  const what = `Cannot ${Words[where.action].verb} instance "${where.name}"`;
  if (tag === undefined || tag === "") {
    throw new DenError("USAGE", `${what}: --tag is missing`, { hint: `name the snapshot, e.g. den snapshot ${where.action} ${where.name} --tag before-upgrade` });
  }
  const parsed = SnapshotTagSchema.safeParse(tag);
  if (!parsed.success) {
    throw new DenError("USAGE", `${what}: invalid tag "${excerpt(tag)}": ${parsed.error.issues[0]?.message ?? "not a tag"}`, {
      hint: "pick a tag such as before-upgrade; den snapshot list shows the existing ones",
    });
  }
  return parsed.data;
}

/**
 * The tags of a snapshot table (`ID TAG VM SIZE DATE VM CLOCK ICOUNT`), as `limactl snapshot list --quiet` reads it:
 * the second word of each row. A table whose header is not that shape is refused rather than misread.
 */
export function snapshotTags(table: string): string[] {
  const lines = table.split("\n").filter((line) => line.trim() !== "");
  const [header, ...rows] = lines;
  if (header === undefined) return [];
  if (header.trim().split(/\s+/)[1] !== "TAG") {
    throw new DenError("INTERNAL", `Cannot read the snapshot list: unknown header "${excerpt(header)}"`, { hint: "run den snapshot list without --quiet to see it" });
  }
  return rows.map((row) => row.trim().split(/\s+/)[1]).filter((tag): tag is string => tag !== undefined);
}

/**
 * Creates, applies, deletes or lists (returning the table) the snapshots of instance `name`, through its host agent
 * when it runs and through its driver on the disk when it is stopped.
 */
export async function snapshotInstance(denHome: string, name: string, request: SnapshotRequest, io: SnapshotIo): Promise<string> {
  const words = Words[request.action];
  const dir = await existingInstanceDir(denHome, name, { action: words.verb });
  if (!(await Bun.file(join(dir, InstanceYaml)).exists())) {
    throw new DenError("INSTANCE_NOT_FOUND", `Cannot ${words.verb} instance "${name}": it does not exist`, { hint: "see den list for the instances" });
  }
  const config = await loadInstanceConfig(denHome, name);
  // Creating a driver reads and starts nothing; it tells whether the vmType has snapshots at all.
  const driver = createDriver({ instanceName: name, instanceDir: dir, denHome, config, sshLocalPort: 0, env: io.env, logger: io.logger });
  if (!driver.snapshots) {
    throw new DenError("SNAPSHOT_UNSUPPORTED", `Cannot ${words.verb} instance "${name}": vmType "${config.vmType}" has no snapshots`, {
      hint: "snapshots need vmType: qemu (den snapshot works as limactl snapshot, which only QEMU supports)",
    });
  }
  const before = (await inspectInstance(denHome, name, { logger: io.logger })).status;
  if (before === "Running" || before === "Paused") {
    const viaHostAgent: SnapshotBackend = {
      list: () => hostAgentSnapshot(dir, "list", { timeoutMs: SnapshotTimeoutsMs.list }),
      run: async (action, tag) => {
        if (action === "create" && before === "Running") io.logger.info(`Saving the state of instance "${name}"; the guest is paused until it is saved`);
        await hostAgentSnapshot(dir, action, { tag, timeoutMs: SnapshotTimeoutsMs[action] });
      },
    };
    return perform(viaHostAgent, name, request);
  }
  if (before !== "Stopped") throw stateError(name, words.verb, before);
  await using _lock = await acquireInstanceLock(dir, { timeoutMs: LockWaitMs, owner: `den snapshot ${request.action}` });
  // A `den start` may have finished between the look and the lock.
  const now = (await inspectInstance(denHome, name, { logger: io.logger })).status;
  if (now !== "Stopped") {
    throw new DenError("INSTANCE_STATE", `Cannot ${words.verb} instance "${name}": it became ${now} meanwhile`, { hint: `run the command again: den snapshot ${request.action} ${name}` });
  }
  const manager = driver.snapshots;
  return perform({ list: () => manager.list(), run: (action, tag) => manager[action](tag) }, name, request);
}

/**
 * Refuses a tag that `create` would duplicate or `apply`/`delete` cannot find, in the words of `den snapshot`: offline
 * qemu-img would add a second snapshot of the same name where savevm replaces the old one, and a missing tag reads
 * better than the backend's "Failed to load snapshot: No such file or directory".
 */
export function checkTagAgainst(tags: readonly string[], name: string, request: { action: SnapshotAction; tag: string }): void {
  const what = `Cannot ${Words[request.action].verb} instance "${name}"`;
  const exists = tags.includes(request.tag);
  if (request.action === "create" && exists) {
    throw new DenError("USAGE", `${what}: it already has a snapshot "${request.tag}"`, {
      hint: `pick another tag, or delete the old one first: den snapshot delete ${name} --tag ${request.tag}`,
    });
  }
  if (request.action !== "create" && !exists) {
    throw new DenError("USAGE", `${what}: it has no snapshot "${request.tag}"`, {
      hint: tags.length === 0 ? "it has no snapshots at all; den snapshot create makes one" : `its snapshots: ${tags.join(", ")}`,
    });
  }
}

interface SnapshotBackend {
  list(): Promise<string>;
  run(action: SnapshotAction, tag: string): Promise<void>;
}

async function perform(backend: SnapshotBackend, name: string, request: SnapshotRequest): Promise<string> {
  if (request.action === "list") return backend.list();
  const tag = request.tag ?? "";
  checkTagAgainst(snapshotTags(await backend.list()), name, { action: request.action, tag });
  await backend.run(request.action, tag);
  return "";
}

function stateError(name: string, verb: string, status: InstanceStatus): DenError {
  const hint =
    status === "Starting"
      ? "wait until den start reports it ready, or stop it first"
      : status === "Broken"
        ? `see den list --json ${name} for the reason; den stop -f ${name} recovers it`
        : `see den list ${name}`;
  return new DenError("INSTANCE_STATE", `Cannot ${verb} instance "${name}": it is ${status}`, { hint });
}
