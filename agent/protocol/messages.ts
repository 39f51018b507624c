// The JSON carried by HELLO, WELCOME, CONTROL, OPEN and RESET frames. Both sides parse everything they receive with
// these schemas: a message that does not match is reported and dropped, never trusted.
import { z } from "zod";

/** The protocol this build speaks; a HELLO offers a range, the WELCOME names the one chosen (0: none in common). */
export const ProtocolVersion = 1;

export const HelloSchema = z.object({
  /** Echoed in the WELCOME so the host can tell its answer from a stale one. */
  nonce: z.string().min(1).max(64),
  protocol: z.object({ min: z.number().int().min(1), max: z.number().int().min(1) }),
});
export type Hello = z.infer<typeof HelloSchema>;

export const WelcomeSchema = z.object({
  /** The HELLO's nonce; null in the announcement a freshly started agent sends unasked. */
  nonce: z.string().max(64).nullable(),
  version: z.string().max(200),
  protocol: z.number().int().min(0),
  arch: z.string().max(64),
  error: z.string().max(1000).optional(),
});
export type Welcome = z.infer<typeof WelcomeSchema>;

const Port = z.number().int().min(0).max(65535);
const Host = z.string().min(1).max(255);
const GuestPath = z.string().min(1).max(4096).startsWith("/");

export const ListenerSchema = z.object({ proto: z.enum(["tcp", "udp"]), ip: z.string().max(64), port: Port });

export const StreamTargetSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("tcp"), host: Host, port: Port }),
  z.object({ kind: z.literal("udp"), host: Host, port: Port }),
  z.object({ kind: z.literal("unix"), path: GuestPath }),
  /** Agent → host: a connection accepted on the guest socket of listen-unix request `id`. */
  z.object({ kind: z.literal("listener"), id: z.number().int().min(1) }),
]);
export type StreamTarget = z.infer<typeof StreamTargetSchema>;

export const FsEventSchema = z.object({ path: GuestPath, kind: z.enum(["modify", "create", "delete"]) });

export const ControlSchema = z.discriminatedUnion("type", [
  // agent → host
  z.object({ type: z.literal("listeners"), listeners: z.array(ListenerSchema).max(65536) }),
  z.object({
    type: z.literal("listen-unix-result"),
    id: z.number().int().min(1),
    ok: z.boolean(),
    errno: z.string().max(64).optional(),
    message: z.string().max(1000).optional(),
  }),
  // either direction: something the peer sent could not be handled
  // (`reset`: the sender dropped the session and waits for a new HELLO)
  z.object({ type: z.literal("error"), message: z.string().max(4000), reset: z.boolean().optional() }),
  // either direction: liveness (the host pings; a session whose pings go unanswered is started over)
  z.object({ type: z.literal("ping"), id: z.number().int().min(0) }),
  z.object({ type: z.literal("pong"), id: z.number().int().min(0) }),
  // host → agent
  z.object({ type: z.literal("fs-events"), events: z.array(FsEventSchema).max(10000) }),
  z.object({
    type: z.literal("listen-unix"),
    id: z.number().int().min(1),
    path: GuestPath,
    uid: z.number().int().min(0),
    gid: z.number().int().min(0),
    mode: z.number().int().min(0).max(0o7777),
  }),
  z.object({ type: z.literal("unlisten-unix"), id: z.number().int().min(1) }),
]);
export type Control = z.infer<typeof ControlSchema>;

export const ResetSchema = z.object({ errno: z.string().max(64), message: z.string().max(1000) });
export type ResetReason = z.infer<typeof ResetSchema>;
