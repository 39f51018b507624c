import { expect, test } from "bun:test";
import { negotiateProtocol, SupportedProtocols } from "../../../agent/protocol/negotiate-protocol.ts";

test.each([
  { name: "a new host and a new agent agree on 2", offered: { min: 1, max: 2 }, supported: { min: 1, max: 2 }, agreed: 2 },
  { name: "a new host and an old agent agree on 1", offered: { min: 1, max: 2 }, supported: { min: 1, max: 1 }, agreed: 1 },
  { name: "an old host and a new agent agree on 1", offered: { min: 1, max: 1 }, supported: { min: 1, max: 2 }, agreed: 1 },
  { name: "an old host and an old agent agree on 1", offered: { min: 1, max: 1 }, supported: { min: 1, max: 1 }, agreed: 1 },
  { name: "a host that offers only 2 and an old agent agree on nothing", offered: { min: 2, max: 2 }, supported: { min: 1, max: 1 }, agreed: 0 },
  { name: "a host from the future gets the agent's newest version", offered: { min: 1, max: 5 }, supported: { min: 1, max: 2 }, agreed: 2 },
  { name: "a host that dropped version 1 and a new agent agree on 2", offered: { min: 2, max: 3 }, supported: { min: 1, max: 2 }, agreed: 2 },
  { name: "an empty offer agrees on nothing", offered: { min: 2, max: 1 }, supported: { min: 1, max: 2 }, agreed: 0 },
  { name: "a clock-sync host and a version 2 agent agree on 2", offered: { min: 1, max: 3 }, supported: { min: 1, max: 2 }, agreed: 2 },
  { name: "a version 2 host and a clock-sync agent agree on 2", offered: { min: 1, max: 2 }, supported: { min: 1, max: 3 }, agreed: 2 },
])("negotiateProtocol() picks the highest common version: $name", ({ offered, supported, agreed }) => {
  expect(negotiateProtocol(offered, supported)).toBe(agreed);
});

test("negotiateProtocol() speaks versions 1 to 3 in this build", () => {
  expect(SupportedProtocols).toEqual({ min: 1, max: 3 });
  expect(negotiateProtocol({ min: 1, max: 1 })).toBe(1);
  expect(negotiateProtocol({ min: 1, max: 2 })).toBe(2);
  expect(negotiateProtocol({ min: 1, max: 3 })).toBe(3);
});
