// The host agent's events: one JSON object per line in ha.stdout.log, each carrying the whole current status (Lima's
// format), so a reader that starts late needs only the last line. den adds the boot stage and port-forward failures.
import { z } from "zod";
import { BootStages } from "./boot-stage.ts";

/** One guest service's report (see guest-service.ts); `data` is the service's own JSON. */
export const GuestServiceReportSchema = z.object({
  state: z.enum(["starting", "ready", "degraded"]),
  message: z.string().optional(),
  data: z.unknown().optional(),
});

export const HostAgentStatusSchema = z.object({
  running: z.boolean().default(false),
  /** Running, but something the user asked for (a mount, a port) does not work; `errors` says what. */
  degraded: z.boolean().default(false),
  exiting: z.boolean().default(false),
  errors: z.array(z.string()).default([]),
  sshLocalPort: z.number().int().nonnegative().optional(),
  /** The stage the boot is in (den); absent once running. */
  stage: z.enum(BootStages).optional(),
  /** The readiness check the "engine" stage is running: a container-engine check or a template probe (den). */
  check: z.string().optional(),
  /** Milliseconds since the host agent started, when the stage was entered (den). */
  stageElapsedMs: z.number().nonnegative().optional(),
  /** Things the user should know that do not stop the boot, e.g. a fallback to TCG (den). */
  warnings: z.array(z.string()).optional(),
  /** Last lines of serial.log when the boot failed (den). */
  serialTail: z.array(z.string()).optional(),
  /** Guest services by name: mounts, ports, guest agent… (den). */
  services: z.record(z.string(), GuestServiceReportSchema).optional(),
});
export type HostAgentStatus = z.output<typeof HostAgentStatusSchema>;

export const HostAgentEventSchema = z.object({
  time: z.string(),
  status: HostAgentStatusSchema,
});
export type HostAgentEvent = z.output<typeof HostAgentEventSchema>;

/** One line of ha.stdout.log, newline included. */
export function formatEvent(status: HostAgentStatus, now: Date): string {
  return `${JSON.stringify({ time: now.toISOString(), status })}\n`;
}

/** Parses one line; a line that is not an event (a stray print, a torn write) yields undefined, never a throw. */
export function parseEvent(line: string): HostAgentEvent | undefined {
  const trimmed = line.trim();
  if (trimmed === "") return undefined;
  try {
    const parsed = HostAgentEventSchema.safeParse(JSON.parse(trimmed));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
