import { expect, test } from "bun:test";
import { createMemoryLogger } from "../../../lib/log.ts";
import type { NotForwarded } from "../../../lib/portfwd/plan-forwards.ts";
import { unforwardedListeners } from "../../../lib/portfwd/unforwarded-listeners.ts";

const entry = (port: number, why: NotForwarded["why"], proto: "tcp" | "udp" = "tcp"): NotForwarded => ({ listener: { proto, ip: "0.0.0.0", port }, why });

test.each([
  { name: "a listener no rule covers at info", entries: [entry(5432, "none")], want: [{ level: "info", message: "Not forwarding TCP 0.0.0.0:5432" }] },
  { name: "an ignored listener at debug", entries: [entry(22, "ignore")], want: [{ level: "debug", message: "Not forwarding TCP 0.0.0.0:22 (ignored by a rule)" }] },
  { name: "a statically forwarded listener at debug", entries: [entry(80, "static")], want: [{ level: "debug", message: "Not forwarding TCP 0.0.0.0:80 (a static rule covers it)" }] },
  { name: "a listener of a protocol switched off at debug", entries: [entry(53, "none", "udp")], want: [{ level: "debug", message: "Not forwarding UDP 0.0.0.0:53 (ignored by a rule)" }] },
])("unforwardedListeners() logs $name", ({ entries, want }) => {
  const log = createMemoryLogger();
  unforwardedListeners(log, { ignored: { tcp: false, udp: true } })(entries);
  expect(log.lines).toEqual([...want]);
});

test("unforwardedListeners() logs a listener once while it stays, and again after it came back", () => {
  const log = createMemoryLogger();
  const logUnforwarded = unforwardedListeners(log, {});
  logUnforwarded([entry(5432, "none")]);
  logUnforwarded([entry(5432, "none")]);
  logUnforwarded([]);
  logUnforwarded([entry(5432, "none")]);
  expect(log.lines.map((line) => line.message)).toEqual(["Not forwarding TCP 0.0.0.0:5432", "Not forwarding TCP 0.0.0.0:5432"]);
});
