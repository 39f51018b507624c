// What the "ports" guest service publishes under `services.ports.data` (ha.stdout.log, GET /v1/info, den list --json)
// and what `den ports` reads back: the forwards that work and the ones that do not, each with its reason.
import { z } from "zod";

export const ForwardProtos = ["tcp", "udp", "unix"] as const;

/**
 * What carries a forward's connections. agent: the guest agent channel. qemu-hostfwd: the VM's own network stack
 * (QEMU's slirp hostfwd), for TCP listeners on 0.0.0.0 or :: only, several times faster. ssh: an SSH channel
 * (static rules).
 */
export const ForwardPaths = ["agent", "qemu-hostfwd", "ssh"] as const;
export type ForwardPath = (typeof ForwardPaths)[number];

export const ActiveForwardSchema = z.object({
  proto: z.enum(ForwardProtos),
  /** Guest side: `127.0.0.1:8080`, `[::]:8080`, or a socket path. With several guest listeners on one host address
   * (0.0.0.0 and :: of the same server), all of them. */
  guest: z.string(),
  /** Host side: `127.0.0.1:8080` or a socket path. */
  host: z.string(),
  /** A host socket exposed in the guest (`reverse: true`): connections go from the guest to the host. */
  reverse: z.boolean().optional(),
  /** Set up at boot from a `static: true` rule, over SSH, whatever listens in the guest. */
  static: z.boolean().optional(),
  /** Absent only in reports of host agents older than the choice of path. */
  via: z.enum(ForwardPaths).optional(),
  /** ISO time the forward started. */
  since: z.string(),
  /** Connections (TCP, unix) or peers (UDP) carried so far; always 0 via qemu-hostfwd, whose connections den does not see. */
  connections: z.number().int().nonnegative(),
});
export type ActiveForward = z.output<typeof ActiveForwardSchema>;

/** `limit`: guest listeners past the cap on forwards per instance (cap-forwards.ts), all in one failure. */
export const FailureReasons = ["port-in-use", "privileged-port", "conflict", "listen-failed", "tunnel-failed", "no-agent", "unsupported", "limit"] as const;
export type FailureReason = (typeof FailureReasons)[number];

export const ForwardFailureSchema = z.object({
  reason: z.enum(FailureReasons),
  proto: z.enum(ForwardProtos).optional(),
  guest: z.string().optional(),
  host: z.string().optional(),
  /** One sentence for the user. */
  message: z.string(),
  /** What to do about it. */
  hint: z.string().optional(),
  /**
   * A failure of den's catch-all rule on a port Lima calls negligible (a privileged port, or DNS/NTP/mDNS/LLMNR that
   * the host's own services hold): listed, logged, but it does not make the instance degraded.
   */
  negligible: z.boolean().optional(),
  since: z.string(),
});
export type ForwardFailure = z.output<typeof ForwardFailureSchema>;

export const PortForwardReportSchema = z.object({
  forwards: z.array(ActiveForwardSchema),
  failures: z.array(ForwardFailureSchema),
});
export type PortForwardReport = z.output<typeof PortForwardReportSchema>;
