// The "mount-inotify" guest service (mountInotify: true): changes made on the host to the shared folders become
// inotify events in the guest. The host watches and batches here (forward-fs-events.ts); the guest agent
// reproduces each change on the same path (agent/fs-events.ts).
import { z } from "zod";
import type { FilledDenYaml } from "../../config/schema.ts";
import type { GuestService, GuestServiceContext, RunningGuestService } from "../../hostagent/guest-service.ts";
import { forwardFsEvents, type ForwardedMount } from "./forward-fs-events.ts";

/** The `data` of the mount-inotify report. */
export const MountInotifyReportDataSchema = z.object({
  watched: z.array(z.object({ location: z.string(), mountPoint: z.string() })),
  problems: z.array(z.object({ location: z.string(), problem: z.string() })),
});
export type MountInotifyReportData = z.infer<typeof MountInotifyReportDataSchema>;

export const mountInotifyService: GuestService = {
  name: "mount-inotify",
  waitingFor: "the file event watchers",
  // wsl2 shares the host's drives natively, with their own (Windows-side) notifications.
  enabled: (config: FilledDenYaml) => config.mountInotify && config.mounts.length > 0 && config.mountType !== "wsl2",
  start: startMountInotify,
};

async function startMountInotify(ctx: GuestServiceContext): Promise<RunningGuestService> {
  const agent = ctx.agent;
  if (agent === undefined) {
    ctx.report({ state: "degraded", message: "mountInotify needs the guest agent, and this instance runs without one" });
    return { stop: async () => {} };
  }
  const mounts: ForwardedMount[] = ctx.config.mounts.map((mount) => ({ location: mount.location, mountPoint: mount.mountPoint }));
  const problems: MountInotifyReportData["problems"] = [];
  let watched: ForwardedMount[] = [];
  const publish = () => {
    const data: MountInotifyReportData = { watched, problems };
    if (problems.length === 0) ctx.report({ state: "ready", data });
    else ctx.report({ state: "degraded", message: problems.map((entry) => `"${entry.location}": ${entry.problem}`).join("; "), data });
  };
  let started = false;
  const forwarder = await forwardFsEvents(mounts, {
    send: (events) => agent.sendFsEvents(events),
    onProblem: (mount, error) => {
      problems.push({ location: mount.location, problem: describeWatchError(error) });
      ctx.log.warn("mountInotify stopped watching a mount", { location: mount.location, error: error.message });
      watched = watched.filter((entry) => entry !== mount);
      if (started) publish();
    },
  });
  watched = mounts.filter((mount) => !problems.some((entry) => entry.location === mount.location));
  started = true;
  publish();
  const stop = async () => {
    forwarder.close();
    ctx.signal.removeEventListener("abort", stop);
  };
  ctx.signal.addEventListener("abort", stop);
  return { stop };
}

function describeWatchError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOSPC") return "file events are off: the host's inotify watch limit is reached (raise fs.inotify.max_user_watches)";
  if (code === "ENOENT") return "file events are off: the folder does not exist";
  return `file events are off: ${error.message}`;
}
