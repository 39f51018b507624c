// The bodies that cross ha.sock, the host agent's HTTP API: one schema for both ends, so the server (api-server.ts)
// cannot send a shape the client (api-client.ts) would refuse as "different versions".
import { z } from "zod";
import { BootStages } from "./boot-stage.ts";
import { GuestServiceReportSchema } from "./events.ts";

/** `GET /v1/info`: what the host agent knows that the pid files cannot tell. */
export const HostAgentInfoSchema = z.object({
  sshLocalPort: z.number().int().nonnegative(),
  /** Broken: the VM process is gone while the host agent waits to be stopped; `errors` says why. */
  status: z.enum(["Starting", "Running", "Paused", "Broken"]),
  stage: z.enum(BootStages).optional(),
  degraded: z.boolean().default(false),
  errors: z.array(z.string()).default([]),
  /** Guest services by name (mounts, ports, guest agent), as in ha.stdout.log. */
  services: z.record(z.string(), GuestServiceReportSchema).default({}),
});
export type HostAgentInfo = z.output<typeof HostAgentInfoSchema>;

/** The body the host agent sends with a 4xx/5xx status. */
export const ApiErrorBodySchema = z.object({ message: z.string() });
export type ApiErrorBody = z.output<typeof ApiErrorBodySchema>;

/** What the snapshot routes (`POST /v1/snapshots/{create,apply,delete}`) do to the VM's internal snapshots. */
export const SnapshotActions = ["create", "apply", "delete"] as const;
export type SnapshotAction = (typeof SnapshotActions)[number];

/**
 * A snapshot's tag: what QEMU's savevm and `qemu-img snapshot` accept as one word. Digits alone are refused: QEMU
 * looks a snapshot up by ID or by tag, so a tag "2" could name another snapshot whose ID is 2.
 */
export const SnapshotTagSchema = z
  .string()
  .max(128, "longer than 128 characters")
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" and "-", starting with a letter or digit')
  .refine((tag) => !/^\d+$/.test(tag), "digits alone would be taken for a snapshot ID");

/** The body of `POST /v1/snapshots/{create,apply,delete}`. */
export const SnapshotRequestSchema = z.object({ tag: SnapshotTagSchema });
export type SnapshotRequest = z.output<typeof SnapshotRequestSchema>;

/** `GET /v1/snapshots`: the backend's table (`ID TAG VM SIZE DATE VM CLOCK ICOUNT`), as `limactl snapshot list` prints it. */
export const SnapshotListSchema = z.object({ snapshots: z.string() });
export type SnapshotList = z.output<typeof SnapshotListSchema>;
