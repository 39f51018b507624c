import { expect, test } from "bun:test";
import type { GuestListener } from "../../../agent/protocol/messages.ts";
import type { FilledPortForward } from "../../../lib/config/schema.ts";
import { defaultedRule, effectiveRules } from "../../../lib/portfwd/effective-rules.ts";
import { planForwards } from "../../../lib/portfwd/plan-forwards.ts";
import type { ForwardPath } from "../../../lib/portfwd/port-forward-report.ts";
import { reconcileForwards } from "../../../lib/portfwd/reconcile-forwards.ts";

const tcp = (ip: string, port: number): GuestListener => ({ proto: "tcp", ip, port });
const udp = (ip: string, port: number): GuestListener => ({ proto: "udp", ip, port });

interface Row {
  name: string;
  rules?: Partial<FilledPortForward>[];
  listeners: GuestListener[];
  active?: Record<string, ForwardPath>;
  failures?: string[];
  maxForwards?: number;
  hostForwarder?: boolean;
  want: { stop?: string[]; stale?: string[]; steps?: string[]; conflicts?: string[]; limit?: string };
}

test.each<Row>([
  {
    name: "opens every planned forward when none is up, in the plan's order",
    listeners: [tcp("127.0.0.1", 8080), udp("127.0.0.1", 5000)],
    want: { steps: ["open udp 127.0.0.1:5000", "open tcp 127.0.0.1:8080"] },
  },
  {
    name: "keeps a forward that is up",
    listeners: [tcp("127.0.0.1", 8080)],
    active: { "tcp 127.0.0.1:8080": "agent" },
    want: { steps: ["keep tcp 127.0.0.1:8080"] },
  },
  {
    name: "stops a forward whose guest listener went",
    listeners: [tcp("127.0.0.1", 9090)],
    active: { "tcp 127.0.0.1:8080": "agent", "tcp 127.0.0.1:9090": "agent" },
    want: { stop: ["tcp 127.0.0.1:8080"], steps: ["keep tcp 127.0.0.1:9090"] },
  },
  {
    name: "stops everything for an empty list",
    listeners: [],
    active: { "tcp 127.0.0.1:8080": "qemu-hostfwd", "udp 127.0.0.1:5000": "agent" },
    want: { stop: ["tcp 127.0.0.1:8080", "udp 127.0.0.1:5000"] },
  },
  {
    name: "keeps a forward through the VM's network while a wildcard listener stays",
    listeners: [tcp("0.0.0.0", 8080), tcp("127.0.0.1", 8080)],
    active: { "tcp 127.0.0.1:8080": "qemu-hostfwd" },
    hostForwarder: true,
    want: { steps: ["keep tcp 127.0.0.1:8080"] },
  },
  {
    name: "reroutes a forward through the VM's network when only a loopback listener stays",
    listeners: [tcp("127.0.0.1", 8080)],
    active: { "tcp 127.0.0.1:8080": "qemu-hostfwd" },
    hostForwarder: true,
    want: { steps: ["reroute tcp 127.0.0.1:8080"] },
  },
  {
    name: "refuses UDP to a host socket",
    rules: [{ guestPort: 5000, hostSocket: "/tmp/app.sock" }],
    listeners: [udp("127.0.0.1", 5000), tcp("127.0.0.1", 5000)],
    want: { steps: ["open tcp /tmp/app.sock", "refuse udp /tmp/app.sock"] },
  },
  {
    name: "clears the failures of forwards and conflicts that are gone, and no others",
    listeners: [tcp("127.0.0.1", 9090)],
    failures: ["listen tcp 127.0.0.1:8080", "tunnel udp 127.0.0.1:5000", "tunnel tcp 127.0.0.1:9090", "conflict tcp 127.0.0.1:80 127.0.0.1:81", "agent", "limit", "listen unix:/h.sock:/g.sock"],
    want: { stale: ["listen tcp 127.0.0.1:8080", "tunnel udp 127.0.0.1:5000", "conflict tcp 127.0.0.1:80 127.0.0.1:81"], steps: ["open tcp 127.0.0.1:9090"] },
  },
  {
    name: "refuses the second of two guest ports ruled onto one host port",
    rules: [
      { guestPort: 8081, hostPort: 7000 },
      { guestPort: 8082, hostPort: 7000 },
    ],
    listeners: [tcp("127.0.0.1", 8082), tcp("127.0.0.1", 8081)],
    failures: ["conflict tcp 127.0.0.1:7000 127.0.0.1:8082"],
    want: { steps: ["open tcp 127.0.0.1:7000"], conflicts: ["conflict tcp 127.0.0.1:7000 127.0.0.1:8082"] },
  },
  {
    name: "caps new forwards but never one that is up",
    listeners: [tcp("127.0.0.1", 8080), tcp("127.0.0.1", 9090)],
    active: { "tcp 127.0.0.1:9090": "agent" },
    maxForwards: 1,
    want: { steps: ["keep tcp 127.0.0.1:9090"], limit: "Cannot forward 1 guest listener (TCP 127.0.0.1:8080): den forwards at most 1 ports per instance" },
  },
  {
    name: "counts the conflicts past the cap in the limit",
    rules: [
      { guestPort: 8081, hostPort: 7000 },
      { guestPort: 8082, hostPort: 7000 },
    ],
    listeners: [tcp("127.0.0.1", 8081), tcp("127.0.0.1", 8082)],
    maxForwards: 0,
    want: { limit: "Cannot forward 2 guest listeners (TCP 127.0.0.1:8081, and 1 more): den forwards at most 0 ports per instance" },
  },
])("reconcileForwards() $name", ({ rules = [], listeners, active = {}, failures = [], maxForwards = 256, hostForwarder = false, want }) => {
  const plan = planForwards(effectiveRules({ portForwards: rules.map(defaultedRule) }, { sshLocalPort: 60022 }), listeners);
  const activeMap = new Map(Object.entries(active).map(([key, via]) => [key, { via }]));
  const pass = reconcileForwards(plan, { active: activeMap, failures, maxForwards, hostForwarder });
  expect({
    stop: pass.stop,
    stale: pass.stale,
    steps: pass.steps.map((step) => `${step.action} ${step.planned.key}`),
    conflicts: pass.conflicts.map((conflict) => conflict.key),
    limit: pass.limit?.message,
  }).toEqual({ stop: [], stale: [], steps: [], conflicts: [], limit: undefined, ...want });
});

test("reconcileForwards() words a conflict with the listener that holds the host port", () => {
  const rules = effectiveRules({ portForwards: [defaultedRule({ guestPort: 8081, hostPort: 7000 }), defaultedRule({ guestPort: 8082, hostPort: 7000 })] }, { sshLocalPort: 60022 });
  const pass = reconcileForwards(planForwards(rules, [tcp("127.0.0.1", 8081), tcp("127.0.0.1", 8082)]), { active: new Map(), failures: [], maxForwards: 256, hostForwarder: false });
  expect(pass.conflicts).toEqual([
    {
      key: "conflict tcp 127.0.0.1:7000 127.0.0.1:8082",
      failure: {
        reason: "conflict",
        proto: "tcp",
        guest: "127.0.0.1:8082",
        host: "127.0.0.1:7000",
        message: "Cannot forward guest TCP 127.0.0.1:8082 to host 127.0.0.1:7000: guest 127.0.0.1:8081 is already forwarded there (rules map both to one host port)",
        hint: "give one of them its own hostPort in portForwards, or ignore it",
      },
    },
  ]);
});

test("reconcileForwards() words the refusal of UDP to a host socket", () => {
  const rules = effectiveRules({ portForwards: [defaultedRule({ guestPort: 5000, hostSocket: "/tmp/app.sock", proto: "udp" })] }, { sshLocalPort: 60022 });
  const [step] = reconcileForwards(planForwards(rules, [udp("0.0.0.0", 5000)]), { active: new Map(), failures: [], maxForwards: 256, hostForwarder: true }).steps;
  expect(step).toMatchObject({
    action: "refuse",
    failure: {
      reason: "unsupported",
      proto: "udp",
      guest: "0.0.0.0:5000",
      host: "/tmp/app.sock",
      message: 'Cannot forward guest UDP 0.0.0.0:5000 to host socket "/tmp/app.sock": datagrams cannot go to a stream socket',
      hint: "drop hostSocket from the rule, or restrict it to proto: tcp",
    },
  });
});
