import { expect, test } from "bun:test";
import type { FilledPortForward } from "../../../lib/config/schema.ts";
import type { GuestListener } from "../../../agent/protocol/messages.ts";
import { defaultedRule, effectiveRules } from "../../../lib/portfwd/effective-rules.ts";
import { forwardPath } from "../../../lib/portfwd/forward-path.ts";
import { planForwards } from "../../../lib/portfwd/plan-forwards.ts";

/** The path of the one forward planned for `listeners` under the user's `rule` (and den's defaults). */
function pathOf(listeners: GuestListener[], rule: Partial<FilledPortForward> = {}, hostForwarder = true) {
  const rules = effectiveRules({ portForwards: Object.keys(rule).length > 0 ? [defaultedRule(rule)] : [] }, { sshLocalPort: 60022 });
  const [planned] = planForwards(rules, listeners).forwards;
  if (!planned) throw new Error("nothing planned");
  return forwardPath(planned, { hostForwarder });
}

test.each([
  { name: "a TCP listener on 0.0.0.0", listeners: [{ proto: "tcp", ip: "0.0.0.0", port: 8080 }], want: "qemu-hostfwd" },
  { name: "a TCP listener on ::", listeners: [{ proto: "tcp", ip: "::", port: 8080 }], want: "qemu-hostfwd" },
  { name: "one server on 0.0.0.0 and ::", listeners: [{ proto: "tcp", ip: "::", port: 8080 }, { proto: "tcp", ip: "0.0.0.0", port: 8080 }], want: "qemu-hostfwd" },
  { name: "one server on 0.0.0.0 and 127.0.0.1", listeners: [{ proto: "tcp", ip: "127.0.0.1", port: 8080 }, { proto: "tcp", ip: "0.0.0.0", port: 8080 }], want: "qemu-hostfwd" },
  { name: "a TCP listener on 127.0.0.1", listeners: [{ proto: "tcp", ip: "127.0.0.1", port: 8080 }], want: "agent" },
  { name: "a TCP listener on ::1", listeners: [{ proto: "tcp", ip: "::1", port: 8080 }], want: "agent" },
  { name: "a UDP listener on 0.0.0.0", listeners: [{ proto: "udp", ip: "0.0.0.0", port: 5000 }], want: "agent" },
] as { name: string; listeners: GuestListener[]; want: "agent" | "qemu-hostfwd" }[])("forwardPath() sends $name via $want", ({ listeners, want }) => {
  expect(pathOf(listeners)).toBe(want);
});

test.each([
  { name: "an IPv6 host address", rule: { guestPort: 8080, hostIP: "::1" }, want: "agent" },
  { name: "host 0.0.0.0", rule: { guestPort: 8080, hostIP: "0.0.0.0" }, want: "qemu-hostfwd" },
  { name: "a host socket", rule: { guestPort: 8080, hostSocket: "/tmp/app.sock" }, want: "agent" },
] as { name: string; rule: Partial<FilledPortForward>; want: "agent" | "qemu-hostfwd" }[])("forwardPath() sends a 0.0.0.0 listener ruled to $name via $want", ({ rule, want }) => {
  expect(pathOf([{ proto: "tcp", ip: "0.0.0.0", port: 8080 }], rule)).toBe(want);
});

test("forwardPath() uses the guest agent when the driver cannot forward", () => {
  expect(pathOf([{ proto: "tcp", ip: "0.0.0.0", port: 8080 }], {}, false)).toBe("agent");
});
