// The "mounts" guest service. 9p and virtiofs mounts are made by the guest itself (cloud-init's fstab entries,
// checked by the boot script 40-mounts-ready.sh before it writes /run/den-mounts-ready); reverse-sshfs mounts are
// made from here, over SSH. Either way the service then asks the guest which mounts are really there, tries a
// missing fstab mount once more to learn why it fails, and reports each failure by mount point and reason: the
// instance is then degraded, not Running with a folder silently missing.
import { mkdir } from "node:fs/promises";
import { z } from "zod";
import type { FilledDenYaml, FilledMount, MountType } from "../config/schema.ts";
import type { GuestService, GuestServiceContext, RunningGuestService } from "../hostagent/guest-service.ts";
import { shellQuote } from "../shell/quote.ts";
import { findSftpServer } from "./find-sftp-server.ts";
import { mountCheckScript, mountProblem, parseMountCheck } from "./guest-mount-check.ts";
import { startReverseSshfs, type ReverseSshfsMount, type SftpBackend } from "./reverse-sshfs.ts";

/** The `data` of the mounts report: one entry per configured mount, in configuration order. */
export const MountsReportDataSchema = z.object({
  mountType: z.string(),
  mounts: z.array(
    z.object({
      location: z.string(),
      mountPoint: z.string(),
      writable: z.boolean(),
      mounted: z.boolean(),
      /** Why the mount is not working; absent when it works. */
      problem: z.string().optional(),
      /** reverse-sshfs: the SFTP server serving it. */
      sftpServer: z.string().optional(),
    }),
  ),
});
export type MountsReportData = z.infer<typeof MountsReportDataSchema>;
type MountEntry = MountsReportData["mounts"][number];

export const mountService: GuestService = {
  name: "mounts",
  waitingFor: "the mounts",
  // wsl2 shares the host's drives natively; there is nothing to set up or check.
  enabled: (config: FilledDenYaml) => config.mounts.length > 0 && config.mountType !== "wsl2",
  start: startMounts,
};

async function startMounts(ctx: GuestServiceContext): Promise<RunningGuestService> {
  const type = ctx.config.mountType;
  const entries: MountEntry[] = ctx.config.mounts.map((mount) => ({
    location: mount.location,
    mountPoint: mount.mountPoint,
    writable: mount.writable,
    mounted: false,
  }));
  const publish = () => {
    const broken = entries.filter((entry) => entry.problem !== undefined);
    const data: MountsReportData = { mountType: type, mounts: entries };
    if (broken.length === 0) ctx.report({ state: "ready", data });
    else ctx.report({ state: "degraded", message: broken.map((entry) => `mount "${entry.mountPoint}" (${type}): ${entry.problem}`).join("; "), data });
  };

  if (type === "reverse-sshfs") {
    const running = await startSshfsMounts(ctx, entries, publish);
    publish();
    return {
      stop: async () => {
        await Promise.all(running.map((mount) => mount.stop()));
      },
    };
  }

  await checkFstabMounts(ctx, type, entries);
  publish();
  // The guest owns these mounts; QEMU's end takes them down.
  return { stop: async () => {} };
}

async function startSshfsMounts(ctx: GuestServiceContext, entries: MountEntry[], publish: () => void): Promise<ReverseSshfsMount[]> {
  const running: ReverseSshfsMount[] = [];
  await Promise.all(
    ctx.config.mounts.map(async (mount, i) => {
      const entry = entries[i] as MountEntry;
      const backend = sftpBackend(mount, ctx.env);
      if ("problem" in backend) {
        entry.problem = backend.problem;
        return;
      }
      entry.sftpServer = backend.kind === "builtin" ? "builtin" : backend.path;
      try {
        // As Lima: a missing host folder is created rather than reported.
        await mkdir(mount.location, { recursive: true });
      } catch (error) {
        entry.problem = `cannot create the host folder "${mount.location}": ${errorText(error)}`;
        return;
      }
      ctx.signal.throwIfAborted();
      const sshfs = startReverseSshfs(mount, {
        ssh: { port: ctx.ssh.port, user: ctx.ssh.user, privateKey: ctx.ssh.privateKey },
        sftp: backend,
        log: ctx.log,
        onChange: (problem) => {
          entry.mounted = problem === undefined;
          if (problem === undefined) delete entry.problem;
          else entry.problem = problem;
          publish();
        },
      });
      running.push(sshfs);
      try {
        await sshfs.ready;
        entry.mounted = true;
        ctx.log.info(`Mounted "${mount.location}" on "${mount.mountPoint}" (reverse-sshfs, ${entry.sftpServer})`);
      } catch (error) {
        entry.problem = errorText(error);
        ctx.log.error(`Cannot mount "${mount.location}" on "${mount.mountPoint}": ${entry.problem}`);
      }
    }),
  );
  return running;
}

/**
 * The SFTP server for one mount, following `sshfs.sftpDriver` ("" and "builtin" = den's, "openssh-sftp-server" =
 * OpenSSH's). The two differ in what the guest can reach: den's built-in server is a jail (sftp-jail.ts), OpenSSH's
 * `sftp-server -d` only starts in the folder and serves every file the host user can open.
 */
export function sftpBackend(
  mount: Pick<FilledMount, "sshfs">,
  env: Readonly<Record<string, string | undefined>>,
  options: { isExecutable?: (path: string) => boolean } = {},
): SftpBackend | { problem: string } {
  // den's own server is the default (Lima's is OpenSSH's): it is a jail to the shared folder, and through a real guest
  // it measured as fast as OpenSSH's sftp-server (`BENCH_MOUNTS=reverse-sshfs bun run bench mounts`), which lets the
  // guest reach every file of the host user. OpenSSH's is used only when asked for.
  if (mount.sshfs.sftpDriver !== "openssh-sftp-server") return { kind: "builtin" };
  const path = findSftpServer({ env, ...options });
  if (path) return { kind: "openssh", path };
  return { problem: 'sshfs.sftpDriver is "openssh-sftp-server" but no OpenSSH sftp-server is installed on the host (install openssh-server or openssh-sftp-server, or set sshfs.sftpDriver: builtin)' };
}

/** Checks the guest's own 9p/virtiofs mounts; a missing one is mounted once more from fstab to learn why. */
async function checkFstabMounts(ctx: GuestServiceContext, type: MountType, entries: MountEntry[]): Promise<void> {
  const mounts = ctx.config.mounts;
  const points = mounts.map((mount) => mount.mountPoint);
  const states = parseMountCheck((await ctx.ssh.session.exec(mountCheckScript(points))).stdout, mounts.length);
  for (const [i, mount] of mounts.entries()) {
    const entry = entries[i] as MountEntry;
    let problem = mountProblem(states[i], mount, type);
    if (problem && !states[i]) {
      // `mount <point>` takes the rest from fstab; its message (unknown filesystem type '9p', a missing tag) is the why.
      const retry = await ctx.ssh.session.exec(`sudo -n mount ${shellQuote(mount.mountPoint)} 2>&1`, { timeoutMs: 30_000 });
      const again = parseMountCheck((await ctx.ssh.session.exec(mountCheckScript([mount.mountPoint]))).stdout, 1)[0];
      problem = mountProblem(again, mount, type);
      if (problem && retry.stdout.trim()) problem = `${problem}: ${retry.stdout.trim().split("\n").at(-1)}`;
    }
    entry.mounted = problem === undefined;
    if (problem) {
      entry.problem = problem;
      ctx.log.error(`Mount "${mount.mountPoint}" (${type}) does not work: ${problem}`);
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
