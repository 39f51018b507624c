// What state an instance is in, read from its folder: PID files, ssh.config and den.yaml, and the host agent's
// own word (GET /v1/info) when it is alive. Lima's rule: host agent and driver both alive → Running (or Starting /
// Paused, as the host agent says); both gone → Stopped; one of them → Broken, except a host agent that is still
// starting its VM.
// lib/status holds what is built on top of an instance folder (this reading, the `den list` row and its rendering):
// it needs den.yaml (lib/config) and the host agent's API, so it sits above lib/store, which stays a leaf of names,
// paths, pid files and the lock that every layer may import.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { HostInfo } from "../config/host-info.ts";
import { hostnameOf } from "../config/hostname.ts";
import type { FilledDenYaml } from "../config/schema.ts";
import { parseSize } from "../config/units.ts";
import { DenError } from "../errors.ts";
import type { HostAgentInfo } from "../hostagent/api-schema.ts";
import type { Logger } from "../log.ts";
import { driverPidFile, HostAgentPid, LimaVersion, Protected, SshConfig } from "../store/filenames.ts";
import type { ConfigCache } from "./config-cache.ts";
import { engineSockets } from "./engine-sockets.ts";
import type { InstanceInfo } from "./instance-info.ts";
import { ensureInstanceFormat } from "../store/instance-format.ts";
import { instanceDirOf } from "../store/instance-name.ts";
import { driverOwner, hostAgentOwner, type PidOwner, type ProcessReader, readOwnedPid } from "../store/pid-file.ts";

/** How long `den list` waits for a host agent's /v1/info, as Lima does. */
export const DefaultInfoTimeoutMs = 3000;

export interface InspectOptions {
  /** Timeout of the GET /v1/info asked of a live host agent; 3 s by default. */
  infoTimeoutMs?: number | undefined;
  /** Told (debug) about a PID file that was not trusted and removed. */
  logger?: Logger | undefined;
  /** How process command lines and start times are read; the host's by default. */
  readProcess?: ProcessReader | undefined;
  /**
   * The host facts the defaults depend on, when the caller inspects many instances (read once, not per instance);
   * a function when they should be read only if some instance is filled afresh.
   */
  host?: HostInfo | (() => Promise<HostInfo>) | undefined;
  /** Filled configurations kept from an earlier run (`den list` only: the lifecycle commands always fill afresh). */
  configCache?: ConfigCache | undefined;
}

export async function inspectInstance(denHome: string, name: string, options: InspectOptions = {}): Promise<InstanceInfo> {
  const dir = instanceDirOf(denHome, name);
  const errors: string[] = [];
  // One listing of the folder says which of the files below exist, so that a stopped instance costs no failed opens
  // of PID files: `den list` of 20 instances would make some 100 of them. Unlistable: every file is tried.
  const entries = await readdir(dir).then(
    (names) => new Set(names),
    () => undefined,
  );
  const has = (file: string) => entries === undefined || entries.has(file);
  const base: InstanceInfo = {
    name,
    hostname: hostnameOf(name),
    status: "Stopped",
    dir,
    sshConfigFile: join(dir, SshConfig),
    sshAddress: "127.0.0.1",
    protected: entries?.has(Protected) ?? (await Bun.file(join(dir, Protected)).exists()),
  };
  const limaVersion = has(LimaVersion) ? await readText(join(dir, LimaVersion)) : undefined;
  if (limaVersion) base.limaVersion = limaVersion;
  // `den list` is a first use too: an older folder is migrated, a newer den's is shown Broken and left unread.
  const formatError = await ensureInstanceFormat(dir, { name }).then(
    () => undefined,
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );
  if (formatError !== undefined) return { ...base, status: "Broken", errors: [formatError] };

  let info: InstanceInfo = base;
  try {
    const config = await filledConfig(denHome, name, options);
    const vmType = config.vmType as string;
    info = {
      ...base,
      vmType,
      arch: config.arch as string,
      cpus: config.cpus as number,
      memory: parseSize(config.memory as string),
      disk: parseSize(config.disk as string),
      sshLocalPort: (has(SshConfig) ? await sshPortFromConfig(join(dir, SshConfig)) : undefined) ?? (config.ssh?.localPort as number | undefined) ?? 0,
      config: config as Record<string, unknown>,
      ...(config.param && Object.keys(config.param).length > 0 && { param: config.param as Record<string, string> }),
      ...(config.message && { message: config.message as string }),
    };
    const sockets = engineSockets(config.portForwards);
    if (Object.keys(sockets).length > 0) info.sockets = sockets;
    // A PID file naming a process den did not start (stale after a reboot) means "not running", never Broken.
    const trustedPid = async (file: string, expect: PidOwner): Promise<number | undefined> => {
      if (!has(file)) return undefined;
      const owned = await readOwnedPid(join(dir, file), { expect, readProcess: options.readProcess });
      if (owned.stale) options.logger?.debug(owned.stale, { instance: name });
      return owned.pid;
    };
    const driverPid = driverPidFile(vmType);
    const hostAgentPID = await trustedPid(HostAgentPid, hostAgentOwner(name));
    const driverPID = await trustedPid(driverPid, driverOwner(join(dir, driverPid)));
    if (hostAgentPID) info.hostAgentPID = hostAgentPID;
    if (driverPID) info.driverPID = driverPID;
    if (hostAgentPID) {
      const answer = await askHostAgent(dir, options.infoTimeoutMs ?? DefaultInfoTimeoutMs);
      if ("info" in answer) {
        if (answer.info.sshLocalPort > 0) info.sshLocalPort = answer.info.sshLocalPort;
        errors.push(...answer.info.errors);
        if (Object.keys(answer.info.services).length > 0) info.services = answer.info.services;
      }
      if ("info" in answer && answer.info.status === "Broken") {
        info.status = "Broken";
        if (answer.info.errors.length === 0) errors.push(`the host agent reports the ${vmType} process as failed`);
      } else if (driverPID) {
        info.status = "info" in answer ? answer.info.status : "Running";
        // As Lima: a host agent that does not answer does not make a running VM Broken, but the user should know.
        if ("error" in answer) errors.push(answer.error);
      } else if ("info" in answer && answer.info.status === "Starting") {
        info.status = "Starting";
      } else {
        info.status = "Broken";
        errors.push(`the host agent is running (PID ${hostAgentPID}) but the ${vmType} process is not`);
      }
    } else if (driverPID) {
      info.status = "Broken";
      errors.push(`the ${vmType} process is running (PID ${driverPID}) but the host agent is not`);
    }
  } catch (error) {
    info.status = "Broken";
    errors.push(error instanceof DenError || error instanceof Error ? error.message : String(error));
  }
  if (errors.length > 0) info.errors = errors;
  return info;
}

async function filledConfig(denHome: string, name: string, options: InspectOptions): Promise<FilledDenYaml> {
  const cached = await options.configCache?.lookup(name);
  if (cached) return cached;
  // The key is taken before the files are read, so an edit made while filling makes the entry stale, never wrong.
  const key = options.configCache?.keyOf(name);
  // Loaded only when an instance is filled afresh: the parser, schema and defaults are most of `den list`'s start-up.
  const { loadInstanceConfig } = await import("../config/load.ts");
  const host = typeof options.host === "function" ? await options.host() : options.host;
  const config = await loadInstanceConfig(denHome, name, host ? { host } : {});
  if (options.configCache && key !== undefined) await options.configCache.store(name, key, config);
  return config;
}

async function askHostAgent(dir: string, timeoutMs: number): Promise<{ info: HostAgentInfo } | { error: string }> {
  try {
    // Loaded only for a live host agent: its client and response schemas would slow every `den list` of stopped ones.
    const { getHostAgentInfo } = await import("../hostagent/api-client.ts");
    return { info: await getHostAgentInfo(dir, { timeoutMs }) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** `Port N` from ssh.config, which holds the real port while the host agent is down. */
async function sshPortFromConfig(path: string): Promise<number | undefined> {
  const text = await readText(path);
  const match = text && /^\s*Port\s+(\d+)\s*$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch {
    return undefined;
  }
}
