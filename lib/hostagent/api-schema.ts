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
