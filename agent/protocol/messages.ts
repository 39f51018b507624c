// The JSON carried by HELLO, WELCOME, CONTROL, OPEN and RESET frames, and the one source of every wire type: the
// agent, the host client and the host code that consumes listeners or sends file events all take their types from
// these schemas (z.infer), so a field changes in one place. Both sides parse everything they receive with them: a
// message that does not match is reported and dropped, never trusted (the guest is untrusted input to the host).
import { z } from "zod";

/**
 * The newest protocol this build speaks; it still speaks every one down to MinProtocolVersion. A HELLO offers a
 * range, the WELCOME names the highest version in both ranges (0: none in common). Version 2 adds the receive windows
 * below and larger DATA frames; version 3 the clock messages (agent/PROTOCOL.md).
 */
export const ProtocolVersion = 3;
/** The first version whose sessions carry the clock messages: neither side sends one to an older peer. */
export const ClockProtocolVersion = 3;
export const MinProtocolVersion = 1;

/**
 * Bytes a side lets its peer send on each new stream before the first CREDIT (protocol 2 and later; version 1 has a
 * fixed 256 KiB). Any u32 parses, so a later version may announce more; the receiver clamps it (stream-limits.ts).
 */
const Window = z.number().int().min(1).max(0xffff_ffff);

export const HelloSchema = z.object({
  /** Echoed in the WELCOME so the host can tell its answer from a stale one. */
  nonce: z.string().min(1).max(64),
  protocol: z.object({ min: z.number().int().min(1), max: z.number().int().min(1) }),
  /** The host's receive window per stream; a version 1 agent drops the field unread. */
  window: Window.optional(),
});
export type Hello = z.infer<typeof HelloSchema>;

/** What the host learns about the agent from its WELCOME. */
export const GuestAgentInfoSchema = z.object({
  /** The agent's own version (`den-guestagent --version`). */
  version: z.string().max(200),
  /** Protocol version both sides agreed on in the handshake (0 in a WELCOME: none in common). */
  protocol: z.number().int().min(0),
  /** `uname -m` of the guest. */
  arch: z.string().max(64),
});
export type GuestAgentInfo = z.infer<typeof GuestAgentInfoSchema>;

export const WelcomeSchema = GuestAgentInfoSchema.extend({
  /** The HELLO's nonce; null in the announcement a freshly started agent sends unasked. */
  nonce: z.string().max(64).nullable(),
  error: z.string().max(1000).optional(),
  /** The agent's receive window per stream (protocol 2 and later); a version 1 host drops the field unread. */
  window: Window.optional(),
});
export type Welcome = z.infer<typeof WelcomeSchema>;

const Port = z.number().int().min(0).max(65535);
const Host = z.string().min(1).max(255);
const GuestPath = z.string().min(1).max(4096).startsWith("/");

/** A listening TCP socket or a bound UDP socket in the guest. `ip` is the bound address as text: "0.0.0.0", "::",
 * "127.0.0.1", "::1", "192.168.5.15", …; IPv4-mapped IPv6 addresses are reported as their IPv4 form. */
export const GuestListenerSchema = z.object({ proto: z.enum(["tcp", "udp"]), ip: z.string().max(64), port: Port });
export type GuestListener = z.infer<typeof GuestListenerSchema>;

const TcpTarget = z.object({ kind: z.literal("tcp"), host: Host, port: Port });
/** Datagrams: the stream's chunks are whole datagrams (an object-mode Duplex of Buffers). */
const UdpTarget = z.object({ kind: z.literal("udp"), host: Host, port: Port });
const UnixTarget = z.object({ kind: z.literal("unix"), path: GuestPath });
/** Agent → host: a connection accepted on the guest socket of listen-unix request `id`. */
const ListenerTarget = z.object({ kind: z.literal("listener"), id: z.number().int().min(1) });

/** Where a stream the host opens ends in the guest. */
export const GuestStreamTargetSchema = z.discriminatedUnion("kind", [TcpTarget, UdpTarget, UnixTarget]);
export type GuestStreamTarget = z.infer<typeof GuestStreamTargetSchema>;

/** Any OPEN target, either direction: what a receiver parses before it decides whether the kind is its to serve. */
export const StreamTargetSchema = z.discriminatedUnion("kind", [TcpTarget, UdpTarget, UnixTarget, ListenerTarget]);
export type StreamTarget = z.infer<typeof StreamTargetSchema>;

/** A change on the host the guest agent reproduces as inotify events on the same guest path. */
export const GuestFsEventSchema = z.object({
  /** Absolute path in the guest. */
  path: GuestPath,
  kind: z.enum(["modify", "create", "delete"]),
});
export type GuestFsEvent = z.infer<typeof GuestFsEventSchema>;

/** A unix socket the agent listens on in the guest (reverse forwarding). */
export const GuestUnixListenSpecSchema = z.object({
  /** Absolute socket path in the guest; its parent folders are created. */
  path: GuestPath,
  uid: z.number().int().min(0),
  gid: z.number().int().min(0),
  /** File mode of the socket, e.g. 0o600. */
  mode: z.number().int().min(0).max(0o7777),
});
export type GuestUnixListenSpec = z.infer<typeof GuestUnixListenSpecSchema>;

/** Host → agent: create the socket of `spec`; connections to it come back as OPEN `{kind: "listener", id}`. */
export const ListenUnixSchema = GuestUnixListenSpecSchema.extend({ type: z.literal("listen-unix"), id: z.number().int().min(1) });
export type ListenUnix = z.infer<typeof ListenUnixSchema>;

/** A time as Unix epoch milliseconds (fractions allowed); bounded so arithmetic on it stays exact. */
const UnixMs = z.number().finite().min(0).max(2 ** 50);
/** A reason or error text for a log line: short, since the peer's words end up in the other side's logs. */
const ClockText = z.string().max(200);

/**
 * Agent → host (protocol 3): the agent stepped its clock (or failed to). `driftMs` is how far the guest clock was
 * from the reference before the step (positive: ahead); `beforeMs`/`afterMs` are the guest's clock around the step.
 */
export const ClockStepSchema = z.object({
  type: z.literal("clock-stepped"),
  /** What the guest clock was compared with: the host's clock over this channel, or the VM's real-time clock. */
  source: z.enum(["host", "rtc"]),
  driftMs: z.number().finite(),
  beforeMs: UnixMs,
  afterMs: UnixMs,
  /** Why the agent checked its clock. */
  reason: ClockText,
  /** Set when setting the clock failed: the clock is still `driftMs` off. */
  error: ClockText.optional(),
});
export type ClockStep = z.infer<typeof ClockStepSchema>;
export const ControlSchema = z.discriminatedUnion("type", [
  // agent → host
  z.object({ type: z.literal("listeners"), listeners: z.array(GuestListenerSchema).max(65536) }),
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
  z.object({ type: z.literal("fs-events"), events: z.array(GuestFsEventSchema).max(10000) }),
  ListenUnixSchema,
  z.object({ type: z.literal("unlisten-unix"), id: z.number().int().min(1) }),
  // protocol 3, host → agent: compare your clock with the host's now (a new session, the host slept)
  z.object({ type: z.literal("clock-check"), reason: ClockText }),
  // protocol 3, agent → host: the host's clock, please; host → agent: the answer, read when the request arrived
  z.object({ type: z.literal("clock-request"), id: z.number().int().min(1) }),
  z.object({ type: z.literal("clock-reply"), id: z.number().int().min(1), unixMs: UnixMs }),
  ClockStepSchema,
]);
export type Control = z.infer<typeof ControlSchema>;

export const ResetSchema = z.object({ errno: z.string().max(64), message: z.string().max(1000) });
export type ResetReason = z.infer<typeof ResetSchema>;
