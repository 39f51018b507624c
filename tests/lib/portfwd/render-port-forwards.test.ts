import { expect, test } from "bun:test";
import type { PortForwardReport } from "../../../lib/portfwd/port-forward-report.ts";
import { renderPortForwards } from "../../../lib/portfwd/render-port-forwards.ts";

const now = new Date("2026-03-01T12:00:00.000Z");

test.each<{ name: string; report: PortForwardReport; want: string }>([
  { name: "no forwards", report: { forwards: [], failures: [] }, want: "No active port forwards.\n" },
  {
    name: "forwards of each kind",
    report: {
      forwards: [
        { proto: "tcp", guest: "0.0.0.0:8080, [::]:8080", host: "127.0.0.1:8080", via: "qemu-hostfwd", since: "2026-03-01T11:59:15.000Z", connections: 0 },
        { proto: "tcp", guest: "127.0.0.1:3000", host: "127.0.0.1:3000", via: "agent", since: "2026-03-01T11:59:15.000Z", connections: 3 },
        { proto: "unix", guest: "/run/user/1000/docker.sock", host: "/home/u/.den/vm/sock/docker.sock", via: "agent", since: "2026-03-01T10:00:00.000Z", connections: 0 },
        { proto: "tcp", guest: "127.0.0.1:9080", host: "127.0.0.1:9080", static: true, via: "ssh", since: "2026-02-27T12:00:00.000Z", connections: 1 },
      ],
      failures: [],
    },
    want: [
      "PROTO          GUEST                        HOST                               VIA            SINCE     CONNECTIONS",
      "tcp            0.0.0.0:8080, [::]:8080      127.0.0.1:8080                     qemu-hostfwd   45s ago   -",
      "tcp            127.0.0.1:3000               127.0.0.1:3000                     agent          45s ago   3",
      "unix           /run/user/1000/docker.sock   /home/u/.den/vm/sock/docker.sock   agent          2h ago    0",
      "tcp (static)   127.0.0.1:9080               127.0.0.1:9080                     ssh            2d ago    1",
      "",
    ].join("\n"),
  },
  {
    name: "a forward from an older host agent without a path",
    report: { forwards: [{ proto: "tcp", guest: "127.0.0.1:80", host: "127.0.0.1:8080", since: "2026-03-01T11:59:00.000Z", connections: 2 }], failures: [] },
    want: ["PROTO   GUEST          HOST             VIA   SINCE    CONNECTIONS", "tcp     127.0.0.1:80   127.0.0.1:8080   -     1m ago   2", ""].join("\n"),
  },
  {
    name: "failures with hints",
    report: {
      forwards: [],
      failures: [
        { reason: "port-in-use", message: "Cannot forward guest TCP 127.0.0.1:3000 to host 127.0.0.1:3000: host port 3000 is already in use", hint: "stop it", since: "2026-03-01T11:50:00.000Z" },
        { reason: "privileged-port", negligible: true, message: "Cannot forward guest UDP 0.0.0.0:68 to host 127.0.0.1:68: host port 68 is privileged and den does not run as root", since: "2026-03-01T11:59:59.000Z" },
      ],
    },
    want: [
      "No active port forwards.",
      "",
      "Failures:",
      "  port-in-use: Cannot forward guest TCP 127.0.0.1:3000 to host 127.0.0.1:3000: host port 3000 is already in use (10m ago)",
      "    hint: stop it",
      "  privileged-port (negligible): Cannot forward guest UDP 0.0.0.0:68 to host 127.0.0.1:68: host port 68 is privileged and den does not run as root (1s ago)",
      "",
    ].join("\n"),
  },
])("renderPortForwards() prints $name", ({ report, want }) => {
  expect(renderPortForwards(report, { now })).toBe(want);
});
