// Where OpenSSH's sftp-server lives: it is not on PATH on any common system, so the usual libexec folders of
// Debian/Ubuntu, Arch, Fedora/RHEL, SUSE, Alpine and macOS are searched, as Lima does.
import { delimiter, join } from "node:path";
import { isExecutableFileSync } from "../fs/quiet-stat.ts";

export const SftpServerPaths = [
  "/usr/libexec/sftp-server",
  "/usr/libexec/openssh/sftp-server",
  "/usr/libexec/ssh/sftp-server",
  "/usr/lib/sftp-server",
  "/usr/lib/openssh/sftp-server",
  "/usr/lib/ssh/sftp-server",
  "/usr/local/libexec/sftp-server",
  "/opt/homebrew/libexec/sftp-server",
] as const;

export interface FindSftpServerContext {
  env: Readonly<Record<string, string | undefined>>;
  /** Whether `path` is an executable file; default checks the real file system. */
  isExecutable?: (path: string) => boolean;
}

/** The candidates in search order: `sftp-server` in each PATH folder (rarely there), then the usual folders. */
export function sftpServerCandidates(env: Readonly<Record<string, string | undefined>>): string[] {
  const onPath = (env.PATH ?? "").split(delimiter).filter((dir) => dir !== "").map((dir) => join(dir, "sftp-server"));
  return [...new Set([...onPath, ...SftpServerPaths])];
}

/** The first executable OpenSSH sftp-server, or undefined. */
export function findSftpServer(ctx: FindSftpServerContext): string | undefined {
  const executable = ctx.isExecutable ?? isExecutableFileSync;
  return sftpServerCandidates(ctx.env).find((path) => executable(path));
}

/**
 * sftp-server's arguments for one mount: log to stderr (`-e`), start in the mount's folder (`-d`), and refuse
 * every change when the mount is not writable (`-R`).
 */
export function sftpServerArgs(location: string, options: { writable: boolean }): string[] {
  return ["-e", "-d", location, ...(options.writable ? [] : ["-R"])];
}
