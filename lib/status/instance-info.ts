// What `den list` knows about an instance: the row schema of `list --json`, and the Go-style field
// names Lima's `--format '{{.Dir}}'` templates use.
import { z } from "zod";
import { GuestServiceReportSchema } from "../hostagent/events.ts";

/**
 * Stopped: neither the host agent nor the VM process lives. Starting / Running / Paused: both live (the host agent
 * says which; Starting also while the VM process is not up yet). Broken: anything else, always with `errors`.
 */
export const InstanceStatusSchema = z.enum(["Stopped", "Starting", "Running", "Paused", "Broken"]);
export type InstanceStatus = z.infer<typeof InstanceStatusSchema>;

export const InstanceInfoSchema = z
  .object({
    name: z.string(),
    hostname: z.string(),
    status: InstanceStatusSchema,
    dir: z.string(),
    vmType: z.string().optional(),
    arch: z.string().optional(),
    cpus: z.number().int().optional(),
    /** bytes */
    memory: z.number().optional(),
    /** bytes */
    disk: z.number().optional(),
    message: z.string().optional(),
    sshLocalPort: z.number().int().optional(),
    sshConfigFile: z.string(),
    sshAddress: z.string(),
    hostAgentPID: z.number().int().optional(),
    driverPID: z.number().int().optional(),
    errors: z.array(z.string()).optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    protected: z.boolean().optional(),
    limaVersion: z.string().optional(),
    param: z.record(z.string(), z.string()).optional(),
    /**
     * The forwarded sockets on the host (den), keyed by engine (docker, podman, containerd, buildkit) when the path
     * says which, else by the socket's file name: `{"docker": "/…/sock/docker.sock"}` (engine-sockets.ts).
     */
    sockets: z.record(z.string(), z.string()).optional(),
    /** What the host agent's guest services report (den): mounts, ports (active forwards and failures), … */
    services: z.record(z.string(), GuestServiceReportSchema).optional(),
  })
  .refine((info) => info.status !== "Broken" || (info.errors?.length ?? 0) > 0, { message: "a Broken instance carries its errors" });
export type InstanceInfo = z.infer<typeof InstanceInfoSchema>;

/** Lima's Go field names, as `list --format` and `--list-fields` show them. */
const goFieldNames: Record<string, keyof InstanceInfo> = {
  Name: "name",
  Hostname: "hostname",
  Status: "status",
  Dir: "dir",
  VMType: "vmType",
  Arch: "arch",
  CPUs: "cpus",
  Memory: "memory",
  Disk: "disk",
  Message: "message",
  SSHLocalPort: "sshLocalPort",
  SSHConfigFile: "sshConfigFile",
  SSHAddress: "sshAddress",
  HostAgentPID: "hostAgentPID",
  DriverPID: "driverPID",
  Errors: "errors",
  Config: "config",
  Protected: "protected",
  LimaVersion: "limaVersion",
  Param: "param",
};

export function listFieldNames(): string[] {
  return Object.keys(goFieldNames).sort();
}

/** The data a `--format` Go template sees: Go field names, with `.Instance` as an alias of the whole row. */
export function goTemplateData(info: InstanceInfo, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const data: Record<string, unknown> = { ...extra };
  for (const [goName, key] of Object.entries(goFieldNames)) data[goName] = info[key] ?? zeroValue(key);
  data.Instance = { ...data };
  return data;
}

function zeroValue(key: keyof InstanceInfo): unknown {
  if (key === "errors") return [];
  if (key === "param" || key === "config") return {};
  if (key === "protected") return false;
  if (["cpus", "memory", "disk", "sshLocalPort", "hostAgentPID", "driverPID"].includes(key)) return 0;
  return "";
}
