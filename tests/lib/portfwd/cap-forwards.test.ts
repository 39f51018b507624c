import { expect, test } from "bun:test";
import { capForwards, DefaultMaxPortForwards, limitFailure, maxPortForwards } from "../../../lib/portfwd/cap-forwards.ts";
import type { PlannedForward } from "../../../lib/portfwd/plan-forwards.ts";

function forward(port: number): PlannedForward {
  const target = { proto: "tcp" as const, ip: "127.0.0.1", port };
  return { key: `tcp 127.0.0.1:${port}`, proto: "tcp", host: { kind: "inet", ip: "127.0.0.1", port }, target, guests: [target], ruleIndex: 0 };
}

const ports = (list: readonly PlannedForward[]) => list.map((entry) => entry.target.port);
const plan = [1, 2, 3, 4, 5].map(forward);

test.each([
  { name: "under the cap keeps all", max: 10, active: [], kept: [1, 2, 3, 4, 5], capped: [] },
  { name: "at the cap keeps all", max: 5, active: [], kept: [1, 2, 3, 4, 5], capped: [] },
  { name: "over the cap keeps the plan's first", max: 2, active: [], kept: [1, 2], capped: [3, 4, 5] },
  { name: "active forwards stay before new ones", max: 2, active: [5], kept: [1, 5], capped: [2, 3, 4] },
  { name: "only the cap of active forwards stays", max: 2, active: [3, 4, 5], kept: [3, 4], capped: [1, 2, 5] },
  { name: "a cap of 0 forwards nothing", max: 0, active: [1], kept: [], capped: [1, 2, 3, 4, 5] },
])("capForwards(): $name", ({ max, active, kept, capped }) => {
  const result = capForwards(plan, { max, active: new Set(active.map((port) => forward(port).key)) });
  expect(ports(result.kept)).toEqual([...kept]);
  expect(ports(result.capped)).toEqual([...capped]);
});

test.each([
  { name: "unset", env: {}, want: DefaultMaxPortForwards },
  { name: "empty", env: { DEN_MAX_PORT_FORWARDS: "" }, want: DefaultMaxPortForwards },
  { name: "1000 with spaces", env: { DEN_MAX_PORT_FORWARDS: " 1000 " }, want: 1000 },
  { name: "0", env: { DEN_MAX_PORT_FORWARDS: "0" }, want: 0 },
  { name: "the largest value", env: { DEN_MAX_PORT_FORWARDS: "131072" }, want: 131072 },
])("maxPortForwards() reads $name as $want", ({ env, want }) => {
  expect(maxPortForwards(env)).toBe(want);
});

test.each([
  { value: "-1", shown: '"-1"' },
  { value: "1.5", shown: '"1.5"' },
  { value: "131073", shown: '"131073"' },
  { value: "1e3", shown: '"1e3"' },
  { value: "lots of ports, more than anyone needs", shown: '"lots of ports, more …"' },
])("maxPortForwards() refuses $value with a usage error", ({ value, shown }) => {
  expect(() => maxPortForwards({ DEN_MAX_PORT_FORWARDS: value })).toThrow(`Cannot use DEN_MAX_PORT_FORWARDS ${shown}: not a whole number from 0 to 131072`);
});

test.each([
  { name: "nothing when nothing is capped", capped: [], conflicts: 0, want: undefined },
  { name: "one listener", capped: [3], conflicts: 0, want: "Cannot forward 1 guest listener (TCP 127.0.0.1:3): den forwards at most 2 ports per instance" },
  { name: "the first three of many", capped: [3, 4, 5, 6], conflicts: 1, want: "Cannot forward 5 guest listeners (TCP 127.0.0.1:3, TCP 127.0.0.1:4, TCP 127.0.0.1:5, and 2 more): den forwards at most 2 ports per instance" },
  { name: "conflicts alone", capped: [], conflicts: 2, want: "Cannot forward 2 guest listeners: den forwards at most 2 ports per instance" },
])("limitFailure() words $name", ({ capped, conflicts, want }) => {
  const failure = limitFailure(capped.map(forward), { cappedConflicts: conflicts, max: 2 });
  expect(failure?.message).toBe(want);
  if (failure) expect(failure).toMatchObject({ reason: "limit", hint: expect.stringContaining("raise DEN_MAX_PORT_FORWARDS in the environment of den start") });
});
