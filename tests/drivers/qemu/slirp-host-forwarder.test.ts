import { expect, test } from "bun:test";
import { createServer } from "node:net";
import type { HostForward } from "../../../drivers/driver.ts";
import { type HostPortProbe, hostfwdRule, hostfwdSource, parseHostfwdAddReply, parseHostfwdRemoveReply, probeHostPort, slirpHostForwarder } from "../../../drivers/qemu/slirp-host-forwarder.ts";
import { DenError } from "../../../lib/errors.ts";

const forward: HostForward = { proto: "tcp", hostIP: "127.0.0.1", hostPort: 8080, guestPort: 80 };

test("hostfwdRule() and hostfwdSource() name a forward as hostfwd_add and hostfwd_remove take it", () => {
  expect(hostfwdRule(forward)).toBe("tcp:127.0.0.1:8080-:80");
  expect(hostfwdSource(forward)).toBe("tcp:127.0.0.1:8080");
});

// Replies as QEMU 7.2 gives them over human-monitor-command.
test.each([
  { name: "an empty reply", reply: "", want: { ok: true } },
  {
    name: "a host listener slirp could not open",
    reply: "Could not set up host forwarding rule 'tcp:127.0.0.1:8080-:80'\r\n",
    want: { ok: false, why: "bind-failed", message: "Could not set up host forwarding rule 'tcp:127.0.0.1:8080-:80'" },
  },
  {
    name: "a reply naming the taken address",
    reply: "Could not set up host forwarding rule 'tcp:127.0.0.1:8080-:80': Address already in use\r\n",
    want: { ok: false, why: "in-use", message: "Could not set up host forwarding rule 'tcp:127.0.0.1:8080-:80': Address already in use" },
  },
  { name: "an unknown netdev id", reply: "unrecognized netdev id 'nope'\r\n", want: { ok: false, why: "rejected", message: "unrecognized netdev id 'nope'" } },
  {
    name: "an invalid rule",
    reply: "Invalid host forwarding rule 'tcp:[::1]:8080-:80' (Bad host address)\r\n",
    want: { ok: false, why: "rejected", message: "Invalid host forwarding rule 'tcp:[::1]:8080-:80' (Bad host address)" },
  },
])("parseHostfwdAddReply() reads $name", ({ reply, want }) => {
  expect(parseHostfwdAddReply(reply)).toEqual(want as ReturnType<typeof parseHostfwdAddReply>);
});

test.each([
  { reply: "host forwarding rule for tcp:127.0.0.1:8080 removed\r\n", want: "removed" },
  { reply: "host forwarding rule for tcp:127.0.0.1:8080 not found\r\n", want: "not-found" },
])("parseHostfwdRemoveReply() reads $want", ({ reply, want }) => {
  expect(parseHostfwdRemoveReply(reply, forward)).toBe(want as "removed" | "not-found");
});

test("parseHostfwdRemoveReply() throws on any other reply", () => {
  expect(() => parseHostfwdRemoveReply("unrecognized netdev id 'net0'\r\n", forward)).toThrow(
    new DenError("QMP", `Cannot remove the QEMU host forward "tcp:127.0.0.1:8080": QEMU answered "unrecognized netdev id 'net0'"`),
  );
});

/** A forwarder over a scripted monitor: `replies` answers each command line in turn. */
function scripted(replies: readonly (string | Error)[], probe: HostPortProbe = "other") {
  const queue = [...replies];
  const commands: string[] = [];
  const probes: string[] = [];
  const forwarder = slirpHostForwarder({
    netdevId: "net0",
    monitor: async (line) => {
      commands.push(line);
      const reply = queue.shift() ?? "";
      if (reply instanceof Error) throw reply;
      return reply;
    },
    probeHostPort: async (ip, port) => {
      probes.push(`${ip}:${port}`);
      return probe;
    },
  });
  return { forwarder, commands, probes };
}

test.each([
  { name: "an empty reply as success", replies: [""], probe: "other" as const, want: { ok: true } },
  {
    name: "a failure on a port the host finds taken as port-in-use",
    replies: ["Could not set up host forwarding rule 'tcp:127.0.0.1:8080-:80'\r\n"],
    probe: "in-use" as const,
    want: { ok: false, reason: "port-in-use", detail: "host port 8080 is already in use" },
  },
  {
    name: "a failure on a free port as listen-failed",
    replies: ["Could not set up host forwarding rule 'tcp:127.0.0.1:8080-:80'\r\n"],
    probe: "free" as const,
    want: { ok: false, reason: "listen-failed", detail: `QEMU answered "Could not set up host forwarding rule 'tcp:127.0.0.1:8080-:80'"` },
  },
  {
    name: "a reply naming the taken address as port-in-use",
    replies: ["Could not set up host forwarding rule 'tcp:127.0.0.1:8080-:80': Address already in use\r\n"],
    probe: "free" as const,
    want: { ok: false, reason: "port-in-use", detail: "host port 8080 is already in use" },
  },
  {
    name: "a refused command as listen-failed",
    replies: ["unrecognized netdev id 'net0'\r\n"],
    probe: "in-use" as const,
    want: { ok: false, reason: "listen-failed", detail: `QEMU answered "unrecognized netdev id 'net0'"` },
  },
  {
    name: "a monitor that fails as listen-failed",
    replies: [new DenError("QMP", "QMP command \"human-monitor-command\" got no answer within 10000 ms")],
    probe: "in-use" as const,
    want: { ok: false, reason: "listen-failed", detail: `QEMU's monitor failed: QMP command "human-monitor-command" got no answer within 10000 ms` },
  },
])("slirpHostForwarder().add() takes $name", async ({ replies, probe, want }) => {
  const { forwarder, commands } = scripted(replies, probe);
  expect(await forwarder.add(forward)).toEqual(want as Awaited<ReturnType<typeof forwarder.add>>);
  expect(commands).toEqual(["hostfwd_add net0 tcp:127.0.0.1:8080-:80"]);
});

test("slirpHostForwarder().add() asks the host about the port only when QEMU does not say why", async () => {
  const ok = scripted([""]);
  await ok.forwarder.add(forward);
  expect(ok.probes).toEqual([]);
  const failed = scripted(["Could not set up host forwarding rule 'tcp:127.0.0.1:8080-:80'\r\n"]);
  await failed.forwarder.add(forward);
  expect(failed.probes).toEqual(["127.0.0.1:8080"]);
});

test.each([
  { name: "a removed forward", replies: ["host forwarding rule for tcp:127.0.0.1:8080 removed\r\n"] },
  { name: "a forward already gone", replies: ["host forwarding rule for tcp:127.0.0.1:8080 not found\r\n"] },
  { name: "a QEMU that is not running", replies: [new DenError("INSTANCE_STATE", `Cannot forward a port of instance "vm": its QEMU is not running`)] },
])("slirpHostForwarder().remove() succeeds for $name", async ({ replies }) => {
  const { forwarder, commands } = scripted(replies);
  await forwarder.remove(forward);
  expect(commands).toEqual(["hostfwd_remove net0 tcp:127.0.0.1:8080"]);
});

test("slirpHostForwarder().remove() rejects when QEMU answers with an error", async () => {
  const { forwarder } = scripted(["unrecognized netdev id 'net0'\r\n"]);
  await expect(forwarder.remove(forward)).rejects.toMatchObject({ code: "QMP" });
});

test("slirpHostForwarder() runs one monitor command at a time", async () => {
  let running = 0;
  let most = 0;
  const forwarder = slirpHostForwarder({
    netdevId: "net0",
    monitor: async () => {
      running++;
      most = Math.max(most, running);
      await Bun.sleep(5);
      running--;
      return "";
    },
    probeHostPort: async () => "free",
  });
  await Promise.all([1, 2, 3].map((i) => forwarder.add({ ...forward, hostPort: 8080 + i })));
  expect(most).toBe(1);
});

test("probeHostPort() tells a taken port from a free one", async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  expect(await probeHostPort("127.0.0.1", port)).toBe("in-use");
  await new Promise<void>((resolve) => server.close(() => resolve()));
  expect(await probeHostPort("127.0.0.1", port)).toBe("free");
  expect(await probeHostPort("192.0.2.1", port)).toBe("other");
});
