import { describe, expect, test } from "bun:test";
import type { z } from "zod";
import * as messages from "../../../agent/protocol/messages.ts";

/** Every exported schema by its name, so the tables name the schema they test. */
const schemas = Object.fromEntries(Object.entries(messages).filter(([name]) => name.endsWith("Schema"))) as Record<string, z.ZodType>;

const accepted = [
  { schema: "GuestListenerSchema", what: "a tcp listener", input: { proto: "tcp", ip: "0.0.0.0", port: 8080 } },
  { schema: "GuestStreamTargetSchema", what: "a udp target", input: { kind: "udp", host: "127.0.0.1", port: 53 } },
  { schema: "StreamTargetSchema", what: "a listener target", input: { kind: "listener", id: 1 } },
  { schema: "GuestFsEventSchema", what: "a create event", input: { path: "/home/ann/x", kind: "create" } },
  { schema: "GuestUnixListenSpecSchema", what: "a socket spec", input: { path: "/run/d.sock", uid: 0, gid: 0, mode: 0o600 } },
  { schema: "WelcomeSchema", what: "an announcement (null nonce)", input: { nonce: null, version: "0.1.0", protocol: 1, arch: "x86_64" } },
  {
    schema: "ControlSchema",
    what: "a listen-unix request",
    input: { type: "listen-unix", id: 3, path: "/run/d.sock", uid: 1000, gid: 1000, mode: 0o660 },
  },
  { schema: "ControlSchema", what: "a clock check", input: { type: "clock-check", reason: "a new session started" } },
  { schema: "ControlSchema", what: "a clock request", input: { type: "clock-request", id: 1 } },
  { schema: "ControlSchema", what: "a clock reply with a fraction of a millisecond", input: { type: "clock-reply", id: 1, unixMs: 1_700_000_000_000.25 } },
  { schema: "ControlSchema", what: "a clock step", input: { type: "clock-stepped", source: "host", driftMs: -60012, beforeMs: 1.7e12, afterMs: 1.7e12 + 60012, reason: "the host asked: a new session started" } },
  { schema: "ClockStepSchema", what: "a failed clock step from the RTC", input: { ...{ type: "clock-stepped", source: "host", driftMs: -60012, beforeMs: 1.7e12, afterMs: 1.7e12 + 60012, reason: "the host asked: a new session started" }, source: "rtc", error: "Cannot set the clock: EPERM" } },
];

const refused = [
  { schema: "GuestListenerSchema", what: "a port above 65535", input: { proto: "tcp", ip: "::", port: 70000 } },
  { schema: "GuestListenerSchema", what: "an unknown protocol", input: { proto: "sctp", ip: "::", port: 80 } },
  { schema: "GuestStreamTargetSchema", what: "a listener target, which only the agent opens", input: { kind: "listener", id: 1 } },
  { schema: "StreamTargetSchema", what: "a relative unix path", input: { kind: "unix", path: "run/docker.sock" } },
  { schema: "GuestFsEventSchema", what: "an unknown event kind", input: { path: "/home/ann/x", kind: "rename" } },
  { schema: "GuestUnixListenSpecSchema", what: "a mode beyond 0o7777", input: { path: "/run/d.sock", uid: 0, gid: 0, mode: 0o10000 } },
  { schema: "WelcomeSchema", what: "a WELCOME without arch", input: { nonce: "n", version: "0.1.0", protocol: 1 } },
  {
    schema: "ControlSchema",
    what: "a listen-unix request without an id",
    input: { type: "listen-unix", path: "/run/d.sock", uid: 0, gid: 0, mode: 0o600 },
  },
  {
    schema: "ControlSchema",
    what: "a listeners list with a bad entry",
    input: { type: "listeners", listeners: [{ proto: "tcp", ip: "::", port: -1 }] },
  },
  { schema: "ControlSchema", what: "an unknown message type", input: { type: "exec", command: "sh" } },
  { schema: "ControlSchema", what: "a clock request without an id", input: { type: "clock-request" } },
  { schema: "ControlSchema", what: "a clock reply before 1970", input: { type: "clock-reply", id: 1, unixMs: -1 } },
  { schema: "ControlSchema", what: "a clock reply that is not a number", input: { type: "clock-reply", id: 1, unixMs: "now" } },
  { schema: "ControlSchema", what: "a clock reply of infinity", input: { type: "clock-reply", id: 1, unixMs: Number.POSITIVE_INFINITY } },
  { schema: "ClockStepSchema", what: "a step from an unknown source", input: { ...{ type: "clock-stepped", source: "host", driftMs: -60012, beforeMs: 1.7e12, afterMs: 1.7e12 + 60012, reason: "the host asked: a new session started" }, source: "ntp" } },
  { schema: "ClockStepSchema", what: "a step whose reason is 201 characters", input: { ...{ type: "clock-stepped", source: "host", driftMs: -60012, beforeMs: 1.7e12, afterMs: 1.7e12 + 60012, reason: "the host asked: a new session started" }, reason: "x".repeat(201) } },
  { schema: "ClockStepSchema", what: "a step with a drift of NaN", input: { ...{ type: "clock-stepped", source: "host", driftMs: -60012, beforeMs: 1.7e12, afterMs: 1.7e12 + 60012, reason: "the host asked: a new session started" }, driftMs: Number.NaN } },
];

describe("wire schemas", () => {
  test.each(accepted)("$schema accepts $what", ({ schema, input }) => {
    expect(schemas[schema]?.safeParse(input).success).toBe(true);
  });

  test.each(refused)("$schema refuses $what", ({ schema, input }) => {
    expect(schemas[schema]?.safeParse(input).success).toBe(false);
  });

  test("ControlSchema drops fields a message does not define", () => {
    const parsed = messages.ControlSchema.parse({ type: "ping", id: 1, extra: "x".repeat(10) });
    expect(parsed).toEqual({ type: "ping", id: 1 });
  });
});
