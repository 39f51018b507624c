import { expect, test } from "bun:test";
import type { FilledPortForward } from "../../../lib/config/schema.ts";
import { defaultedRule, effectiveRules, ignoredProtocols } from "../../../lib/portfwd/effective-rules.ts";

test("effectiveRules() puts the SSH ignores first, the instance's rules next and the catch-all last", () => {
  const user = defaultedRule({ guestPort: 80, hostPort: 8080 });
  const rules = effectiveRules({ portForwards: [user] }, { sshLocalPort: 60022 });
  expect(rules.map((rule) => [rule.guestPortRange, rule.ignore, rule.guestIP, rule.guestIPMustBeZero])).toEqual([
    [[22, 22], true, "0.0.0.0", true],
    [[60022, 60022], true, "0.0.0.0", true],
    [[80, 80], false, "127.0.0.1", false],
    [[1, 65535], false, "127.0.0.1", false],
  ]);
  expect(rules.at(-1)).toMatchObject({ hostIP: "127.0.0.1", hostPortRange: [1, 65535], proto: "any" });
});

test.each<{ name: string; rules: Partial<FilledPortForward>[]; want: { tcp: boolean; udp: boolean } }>([
  { name: "nothing ignored", rules: [{ guestPort: 80 }], want: { tcp: false, udp: false } },
  { name: "leading tcp ignore-all", rules: [{ proto: "tcp", ignore: true }], want: { tcp: true, udp: false } },
  { name: "leading any ignore-all", rules: [{ ignore: true }], want: { tcp: true, udp: true } },
  { name: "ignore-all after another rule", rules: [{ guestPort: 80 }, { ignore: true }], want: { tcp: false, udp: false } },
  { name: "a partial-range ignore", rules: [{ guestPortRange: [1, 1023], ignore: true }], want: { tcp: false, udp: false } },
])("ignoredProtocols() with $name", ({ rules, want }) => {
  expect(ignoredProtocols({ portForwards: rules.map(defaultedRule) })).toEqual(want);
});
