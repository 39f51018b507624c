import { expect, test } from "bun:test";
import type { FilledPortForward } from "../../../lib/config/schema.ts";
import { defaultedRule, effectiveRules } from "../../../lib/portfwd/effective-rules.ts";
import { describeListenFailure, type ListenFailure, plannedListenFailure } from "../../../lib/portfwd/listen-failure.ts";
import { planForwards } from "../../../lib/portfwd/plan-forwards.ts";

test.each([
  { name: "a taken port", error: { code: "EADDRINUSE" }, host: { port: 8080 }, want: { reason: "port-in-use", detail: "host port 8080 is already in use" } },
  { name: "a taken socket", error: { code: "EADDRINUSE" }, host: { path: "/tmp/a.sock" }, want: { reason: "port-in-use", detail: 'host socket "/tmp/a.sock" is already in use' } },
  { name: "a privileged port", error: { code: "EACCES" }, host: { port: 80 }, want: { reason: "privileged-port", detail: "host port 80 is privileged and den does not run as root" } },
  { name: "an address the host lacks", error: { code: "EADDRNOTAVAIL" }, host: { port: 8080 }, want: { reason: "listen-failed", detail: "the host has no such address" } },
  { name: "anything else", error: new Error("boom"), host: { port: 8080 }, want: { reason: "listen-failed", detail: "boom", hint: "see ha.stderr.log in the instance folder" } },
])("describeListenFailure() words $name", ({ error, host, want }) => {
  expect(describeListenFailure(error, host)).toMatchObject(want);
});

const inUse: ListenFailure = { reason: "port-in-use", detail: "host port 53 is already in use", hint: "free it" };
const privileged: ListenFailure = { reason: "privileged-port", detail: "host port 80 is privileged and den does not run as root", hint: "map it" };

test.each([
  { name: "the catch-all rule's DNS port in use", rule: undefined, listener: { proto: "udp" as const, port: 53 }, described: inUse, negligible: true },
  { name: "the catch-all rule's privileged port", rule: undefined, listener: { proto: "tcp" as const, port: 80 }, described: privileged, negligible: true },
  { name: "the catch-all rule's ordinary port in use", rule: undefined, listener: { proto: "tcp" as const, port: 8080 }, described: inUse, negligible: false },
  { name: "a user rule's DNS port in use", rule: { guestPort: 53 }, listener: { proto: "udp" as const, port: 53 }, described: inUse, negligible: false },
] as { name: string; rule?: Partial<FilledPortForward>; listener: { proto: "tcp" | "udp"; port: number }; described: ListenFailure; negligible: boolean }[])(
  "plannedListenFailure() marks $name negligible: $negligible",
  ({ rule, listener, described, negligible }) => {
    const rules = effectiveRules({ portForwards: rule ? [defaultedRule(rule)] : [] }, { sshLocalPort: 60022 });
    const [planned] = planForwards(rules, [{ ...listener, ip: "127.0.0.1" }]).forwards;
    if (!planned) throw new Error("nothing planned");
    const failure = plannedListenFailure(planned, described, { catchAllIndex: rules.length - 1 });
    expect(failure).toEqual({
      reason: described.reason,
      proto: listener.proto,
      guest: `127.0.0.1:${listener.port}`,
      host: `127.0.0.1:${listener.port}`,
      message: `Cannot forward guest ${listener.proto.toUpperCase()} 127.0.0.1:${listener.port} to host 127.0.0.1:${listener.port}: ${described.detail}`,
      hint: described.hint,
      ...(negligible && { negligible: true }),
    });
  },
);
