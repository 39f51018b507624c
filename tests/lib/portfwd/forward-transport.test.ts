import { expect, test } from "bun:test";
import { ForwardOpenError, openFailure } from "../../../lib/portfwd/forward-transport.ts";

test("openFailure() keeps a transport's own words", () => {
  const failure = { reason: "listen-failed" as const, detail: "the guest said no", hint: "try again" };
  expect(openFailure(new ForwardOpenError(failure), { kind: "inet", ip: "127.0.0.1", port: 80 })).toEqual(failure);
});

test.each([
  { name: "a port", host: { kind: "inet" as const, ip: "127.0.0.1", port: 8080 }, detail: "host port 8080 is already in use" },
  { name: "a socket", host: { kind: "unix" as const, path: "/tmp/a.sock" }, detail: 'host socket "/tmp/a.sock" is already in use' },
])("openFailure() words node's error for $name", ({ host, detail }) => {
  expect(openFailure(Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE" }), host)).toMatchObject({ reason: "port-in-use", detail });
});

test("ForwardOpenError carries the detail as its message and the hint", () => {
  const error = new ForwardOpenError({ reason: "listen-failed", detail: "no", hint: "look" }, { fallback: true });
  expect(error).toMatchObject({ message: "no", hint: "look", fallback: true });
});
