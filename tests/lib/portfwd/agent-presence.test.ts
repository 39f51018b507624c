import { afterEach, expect, test } from "bun:test";
import type { GuestAgentState } from "../../../lib/guestagent/guest-agent-client.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { watchAgentPresence } from "../../../lib/portfwd/agent-presence.ts";
import { createForwardLedger } from "../../../lib/portfwd/forward-ledger.ts";
import { standInGuestAgent } from "./support/stand-in-guest-agent.ts";

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

const connected: GuestAgentState = { state: "connected", info: { version: "test", protocol: 1, arch: "x86_64" } };

function watch(initial: GuestAgentState, graceMs = 20) {
  const agent = standInGuestAgent(initial);
  const ledger = createForwardLedger({ onChange: () => {}, failureLog: createMemoryLogger(), now: () => "now" });
  const events: string[] = [];
  stops.push(watchAgentPresence(agent, { ledger, graceMs, onConnected: () => events.push("connected"), onGraceOver: () => events.push("grace over") }));
  const messages = () => ledger.report().failures.map((failure) => failure.message);
  return { agent, events, messages };
}

test.each([
  { name: "a connected agent", initial: connected, want: [], events: ["connected"] },
  { name: "a disconnected agent", initial: { state: "disconnected", reason: "the virtio port closed" } as GuestAgentState, want: ["Cannot forward guest ports: the guest agent is disconnected (the virtio port closed)"], events: [] },
  { name: "a connecting agent, within its grace period", initial: { state: "connecting" } as GuestAgentState, want: [], events: [] },
])("watchAgentPresence() reports $name at once", ({ initial, want, events }) => {
  const watched = watch(initial, 60_000);
  expect(watched.messages()).toEqual([...want]);
  expect(watched.events).toEqual([...events]);
});

test("watchAgentPresence() reports an agent still connecting after the grace period, and clears it on connect", async () => {
  const { agent, events, messages } = watch({ state: "connecting" });
  await Bun.sleep(40);
  expect(messages()).toEqual(["Cannot forward guest ports: the guest agent has not connected yet"]);
  expect(events).toEqual(["grace over"]);
  agent.setState(connected);
  expect(messages()).toEqual([]);
  expect(events).toEqual(["grace over", "connected"]);
});

test("watchAgentPresence() stops following the agent when stopped", async () => {
  const { agent, events, messages } = watch({ state: "connecting" });
  stops.pop()?.();
  agent.setState({ state: "disconnected", reason: "gone" });
  await Bun.sleep(40);
  expect(messages()).toEqual([]);
  expect(events).toEqual([]);
});
