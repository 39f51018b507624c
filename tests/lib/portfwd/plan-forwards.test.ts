import { expect, test } from "bun:test";
import type { FilledPortForward } from "../../../lib/config/schema.ts";
import type { GuestListener } from "../../../agent/protocol/messages.ts";
import { defaultedRule, effectiveRules } from "../../../lib/portfwd/effective-rules.ts";
import { hostEndpointText } from "../../../lib/portfwd/match-port-rule.ts";
import { dialAddress, guestListText, planForwards } from "../../../lib/portfwd/plan-forwards.ts";

const rules = (...user: Partial<FilledPortForward>[]) => effectiveRules({ portForwards: user.map(defaultedRule) }, { sshLocalPort: 60022 });
const tcp = (ip: string, port: number): GuestListener => ({ proto: "tcp", ip, port });

test("planForwards() gives one host listener to a server on 0.0.0.0 and :: of one port", () => {
  const plan = planForwards(rules(), [tcp("::", 8080), tcp("0.0.0.0", 8080)]);
  expect(plan.forwards.map((forward) => [forward.key, guestListText(forward.guests), dialAddress(forward.target)])).toEqual([
    ["tcp 127.0.0.1:8080", "0.0.0.0:8080, [::]:8080", "127.0.0.1"],
  ]);
  expect(plan.conflicts).toEqual([]);
});

test("planForwards() refuses a second guest port mapped onto a taken host port", () => {
  const plan = planForwards(rules({ guestPort: 9000, hostPort: 8080 }), [tcp("127.0.0.1", 9000), tcp("127.0.0.1", 8080)]);
  expect(plan.forwards.map((forward) => forward.key)).toEqual(["tcp 127.0.0.1:8080"]);
  expect(plan.conflicts.map((conflict) => [hostEndpointText(conflict.host), conflict.guest.port, conflict.holder.port])).toEqual([["127.0.0.1:8080", 9000, 8080]]);
});

test("planForwards() keeps TCP and UDP on one port apart", () => {
  const plan = planForwards(rules(), [tcp("127.0.0.1", 5000), { proto: "udp", ip: "127.0.0.1", port: 5000 }]);
  expect(plan.forwards.map((forward) => forward.key).sort()).toEqual(["tcp 127.0.0.1:5000", "udp 127.0.0.1:5000"]);
});

test("planForwards() lists what it does not forward, and why", () => {
  const plan = planForwards(rules({ guestPort: 7000, ignore: true }), [tcp("0.0.0.0", 22), tcp("127.0.0.1", 7000), tcp("10.0.2.15", 80)]);
  expect(plan.notForwarded.map((entry) => [entry.listener.port, entry.why])).toEqual([
    [22, "ignore"],
    [7000, "ignore"],
    [80, "none"],
  ]);
});

test.each([
  { ip: "0.0.0.0", want: "127.0.0.1" },
  { ip: "::", want: "::1" },
  { ip: "127.0.0.1", want: "127.0.0.1" },
  { ip: "192.168.5.15", want: "192.168.5.15" },
])("dialAddress() dials $want for a listener on $ip", ({ ip, want }) => {
  expect(dialAddress(tcp(ip, 1))).toBe(want);
});
