import { expect, test } from "bun:test";
import { createMemoryLogger } from "../../../lib/log.ts";
import { rateLimitLog } from "../../../lib/log-rate-limit.ts";
import { createForwardLedger } from "../../../lib/portfwd/forward-ledger.ts";
import type { PortForwardReport } from "../../../lib/portfwd/port-forward-report.ts";

function ledger() {
  const reports: PortForwardReport[] = [];
  const log = createMemoryLogger();
  let clock = 0;
  const book = createForwardLedger({ onChange: (report) => reports.push(report), failureLog: log, now: () => `t${++clock}` });
  return { book, reports, log };
}

const handle = (connections: number) => ({ via: "agent" as const, connections, close: async () => {} });

test("createForwardLedger() logs a failure when it is new or its message changed, and reports each change", () => {
  const { book, reports, log } = ledger();
  book.fail("listen a", { reason: "port-in-use", message: "Cannot forward a", hint: "free it" });
  book.fail("listen a", { reason: "port-in-use", message: "Cannot forward a", hint: "free it" });
  book.fail("listen a", { reason: "listen-failed", message: "Cannot forward a: other" });
  book.fail("listen b", { reason: "privileged-port", message: "Cannot forward b", negligible: true });
  expect(log.lines).toEqual([
    { level: "warn", message: "Cannot forward a" },
    { level: "warn", message: "Cannot forward a: other" },
    { level: "info", message: "Cannot forward b" },
  ]);
  expect(reports.length).toBe(3);
  expect(book.report().failures).toEqual([
    { reason: "listen-failed", message: "Cannot forward a: other", since: "t2" },
    { reason: "privileged-port", message: "Cannot forward b", negligible: true, since: "t3" },
  ]);
});

test("createForwardLedger() keeps the first time of an ongoing failure and logs it only when it appears", () => {
  const { book, log } = ledger();
  book.fail("limit", { reason: "limit", message: "Cannot forward 3 guest listeners" }, { ongoing: true });
  book.fail("limit", { reason: "limit", message: "Cannot forward 4 guest listeners" }, { ongoing: true });
  expect(book.report().failures).toEqual([{ reason: "limit", message: "Cannot forward 4 guest listeners", since: "t1" }]);
  expect(log.lines).toEqual([{ level: "warn", message: "Cannot forward 3 guest listeners" }]);
});

test("createForwardLedger() logs the cap through its own budget, so a burst of per-port failures cannot swallow it", () => {
  const log = createMemoryLogger();
  const limited = rateLimitLog(log, { burst: 3 });
  const book = createForwardLedger({ onChange: () => {}, failureLog: limited.kind("port forward failures"), ongoingLog: limited.kind("port forward limit"), now: () => "now" });
  for (let port = 50_000; port < 50_020; port++) book.fail(`listen ${port}`, { reason: "port-in-use", message: `Cannot listen on 127.0.0.1:${port}` });
  book.fail("limit", { reason: "limit", message: "Cannot forward 9744 guest listeners" }, { ongoing: true });
  expect(log.lines.filter((line) => line.message.startsWith("Cannot listen"))).toHaveLength(3);
  expect(log.lines.filter((line) => line.message === "Cannot forward 9744 guest listeners")).toEqual([{ level: "warn", message: "Cannot forward 9744 guest listeners" }]);
  limited.flush();
});

test("createForwardLedger() reports a cleared failure once, and a forgotten one not at all", () => {
  const { book, reports } = ledger();
  book.fail("a", { reason: "no-agent", message: "a" });
  book.fail("b", { reason: "no-agent", message: "b" });
  book.clear("a");
  book.clear("a");
  book.forget("b");
  expect(reports.map((report) => report.failures.length)).toEqual([1, 2, 1]);
  expect(book.report().failures).toEqual([]);
});

test("createForwardLedger() sends one report for a whole batch", async () => {
  const { book, reports } = ledger();
  await book.batch(async () => {
    book.active.set("tcp 127.0.0.1:9000", { forward: { proto: "tcp", guest: "g", host: "127.0.0.1:9000", via: "agent", since: "t" }, handle: handle(1) });
    book.emit();
    book.fail("x", { reason: "no-agent", message: "x" });
  });
  expect(reports.length).toBe(1);
  await book.batch(async () => {});
  expect(reports.length).toBe(1);
});

test("createForwardLedger() lists forwards by host address, ports in numeric order, with the handle's connections", () => {
  const { book } = ledger();
  for (const port of [10000, 9000]) {
    book.active.set(`tcp ${port}`, { forward: { proto: "tcp", guest: "g", host: `127.0.0.1:${port}`, via: "agent", since: "t" }, handle: handle(port / 1000) });
  }
  expect(book.report().forwards.map((forward) => [forward.host, forward.connections])).toEqual([
    ["127.0.0.1:9000", 9],
    ["127.0.0.1:10000", 10],
  ]);
});

test("createForwardLedger() turns a connection that cannot reach the guest into a tunnel failure until one does", () => {
  const { book } = ledger();
  const onTunnel = book.tunnelOutcome("tcp 127.0.0.1:8080", () => ({ proto: "tcp", guest: "127.0.0.1:80", host: "127.0.0.1:8080" }));
  onTunnel({ error: new Error("ECONNREFUSED") });
  expect(book.report().failures).toEqual([
    {
      reason: "tunnel-failed",
      proto: "tcp",
      guest: "127.0.0.1:80",
      host: "127.0.0.1:8080",
      message: "Cannot carry a connection from host 127.0.0.1:8080 to guest TCP 127.0.0.1:80: ECONNREFUSED",
      hint: "the guest service may have stopped listening; see ha.stderr.log in the instance folder",
      since: "t1",
    },
  ]);
  onTunnel({});
  expect(book.report().failures).toEqual([]);
});

test("createForwardLedger() reports nothing once closed", () => {
  const { book, reports } = ledger();
  book.close();
  book.fail("a", { reason: "no-agent", message: "a" });
  expect(book.closed).toBe(true);
  expect(reports).toEqual([]);
});
