// What `den watch` does, as `limactl watch`: follow ha.stdout.log of each instance (lib/hostagent/follow-events.ts,
// which also survives a truncated, rotated or not yet created file) and print what changes. Without names it looks at
// the instance list every few seconds, so an instance created or started later is picked up and a deleted one
// dropped. It ends cleanly on Ctrl-C or SIGTERM, and when whoever reads its output goes away (EPIPE).
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { join } from "node:path";
import { DenError } from "../errors.ts";
import type { HostAgentStatus } from "../hostagent/events.ts";
import { followEvents } from "../hostagent/follow-events.ts";
import { baselineFor, renderWatchJson, renderWatchText } from "../hostagent/watch-events.ts";
import type { Logger } from "../log.ts";
import { sleep } from "../process/sleep.ts";
import { inspectInstance } from "../status/inspect.ts";
import { HostAgentStdoutLog, InstanceYaml } from "../store/filenames.ts";
import { existingInstanceDir, instanceDirOf } from "../store/instance-name.ts";
import { listInstanceNames } from "../store/instance-names.ts";
import { contextFrom } from "./context.ts";
import type { WatchOptions } from "./watch-command.ts";

export interface WatchContext {
  denHome: string;
  logger: Logger;
  /** Receives whole lines; never a part of one. */
  write: (text: string) => void;
  /** Ends the watch. */
  signal: AbortSignal;
  /** The moment the watch began: earlier events are not shown without `history`. */
  now: () => Date;
  /** How often each events file is looked at; 250 ms by default. */
  pollMs?: number;
  /** How often the instance list is read when no names were given; 2 s by default. */
  listMs?: number;
}

export interface WatchSettings {
  json: boolean;
  history: boolean;
}

/** Instances watched at once, at most: each costs a stat per poll. */
const MaxWatched = 256;

/** What `den watch` does (declared in watch-command.ts). */
export async function runWatch(names: string[], options: WatchOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  // A reader that went away (`den watch | head -3`) ends the watch; the error is not den's to report.
  const onStdoutError = () => stop.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.stdout.on("error", onStdoutError);
  try {
    await watchInstances(names, { json: Boolean(options.json), history: Boolean(options.history) }, {
      denHome: ctx.denHome,
      logger: ctx.logger,
      signal: stop.signal,
      now: () => new Date(),
      write: (text) => {
        if (!stop.signal.aborted) process.stdout.write(text);
      },
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.stdout.off("error", onStdoutError);
  }
}

/** Follows the named instances (all, and new ones, when `names` is empty) until `ctx.signal` aborts. */
export async function watchInstances(names: readonly string[], settings: WatchSettings, ctx: WatchContext): Promise<void> {
  const startedMs = ctx.now().getTime();
  const watched = new Map<string, { stop: AbortController; done: Promise<void> }>();
  const watch = (name: string, dir: string) => {
    const stop = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stop.signal]);
    const done = followInstance(name, dir, { ...ctx, signal }, { ...settings, startedMs }).catch((error: unknown) => {
      ctx.logger.warn(`Stopped watching instance "${name}": ${error instanceof Error ? error.message : String(error)}`);
    });
    watched.set(name, { stop, done });
  };
  if (names.length > 0) {
    for (const name of names) {
      const dir = await existingInstanceDir(ctx.denHome, name, { action: "watch" });
      if (!(await Bun.file(join(dir, InstanceYaml)).exists())) {
        throw new DenError("INSTANCE_NOT_FOUND", `Cannot watch instance "${name}": it does not exist`, { hint: "see den list for the instances" });
      }
      const { status } = await inspectInstance(ctx.denHome, name, { logger: ctx.logger });
      if (status !== "Running") ctx.logger.warn(`Instance "${name}" is not running (status: ${status}). Watching for events anyway...`);
      watch(name, dir);
    }
    await aborted(ctx.signal);
  } else {
    let warnedEmpty = false;
    let warnedCap = false;
    while (!ctx.signal.aborted) {
      const present = await listInstanceNames(ctx.denHome);
      if (present.length === 0 && !warnedEmpty) {
        ctx.logger.warn("No instances found. Waiting for one to be created...");
        warnedEmpty = true;
      }
      for (const [name, entry] of watched) {
        if (!present.includes(name)) {
          entry.stop.abort();
          watched.delete(name);
        }
      }
      for (const name of present) {
        if (watched.has(name)) continue;
        if (watched.size >= MaxWatched) {
          if (!warnedCap) ctx.logger.warn(`Watching the first ${MaxWatched} instances only; name the ones to watch: den watch NAME...`);
          warnedCap = true;
          break;
        }
        watch(name, instanceDirOf(ctx.denHome, name));
      }
      await sleep(ctx.listMs ?? 2000, ctx.signal).catch(() => {});
    }
  }
  await Promise.all([...watched.values()].map((entry) => entry.done));
}

async function followInstance(name: string, dir: string, ctx: WatchContext, settings: WatchSettings & { startedMs: number }): Promise<void> {
  let previous: HostAgentStatus | undefined;
  for await (const event of followEvents(join(dir, HostAgentStdoutLog), { signal: ctx.signal, pollMs: ctx.pollMs ?? 250 })) {
    const baseline = baselineFor(previous);
    previous = event.status;
    // Older events only set the baseline, so that the first one shown reads as a change, not as the whole status.
    if (!settings.history && Date.parse(event.time) < settings.startedMs) continue;
    ctx.write(settings.json ? renderWatchJson(name, event, baseline) : renderWatchText(name, event, baseline));
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
