// What `den watch` shows of the host agent's events. Each line of ha.stdout.log carries the whole current status, so
// what happened is the difference from the line before: a boot stage entered, the SSH port known, a port forwarded, a
// service ready or degraded, an error, running, exiting. The text form is Lima's `TIME INSTANCE | message`; the JSON
// form is Lima's `{instance, event}`, and a port forward that starts, stops or fails is one event of its own with
// Lima's `status.portForward`, as Lima's host agent writes them, so a script written for `limactl watch --json` reads it.
import { excerpt } from "../errors.ts";
import { PortForwardReportSchema, type PortForwardReport } from "../portfwd/port-forward-report.ts";
import type { HostAgentEvent, HostAgentStatus } from "./events.ts";

/** Lima's `status.portForward` (pkg/hostagent/events): one forward that started, stopped or failed. */
export interface LimaPortForwardEvent {
  type: "forwarding" | "stopping" | "failed";
  protocol: string;
  guestAddr: string;
  hostAddr?: string;
  error?: string;
}

/** Longest message shown for one change; errors and service messages may quote the guest at length. */
const MaxMessageLength = 400;

/**
 * The status a new event is compared with: the one before it, unless that one ended a run of the host agent (a later
 * `den start` appends its events to the same file, and its first event must read as a fresh boot).
 */
export function baselineFor(previous: HostAgentStatus | undefined): HostAgentStatus | undefined {
  return previous?.exiting ? undefined : previous;
}

/** The changes from `previous` (undefined: nothing known yet) to `current`, one message each, in Lima's words where it has them. */
export function statusChanges(previous: HostAgentStatus | undefined, current: HostAgentStatus): string[] {
  const messages: string[] = [];
  if (current.stage !== undefined && current.stage !== previous?.stage) messages.push(`boot stage: ${current.stage}`);
  if (current.check !== undefined && current.check !== previous?.check) messages.push(`checking: ${current.check}`);
  if (current.sshLocalPort !== undefined && current.sshLocalPort !== 0 && current.sshLocalPort !== previous?.sshLocalPort) {
    messages.push(`ssh available on port ${current.sshLocalPort}`);
  }
  for (const warning of added(previous?.warnings ?? [], current.warnings ?? [])) messages.push(`warning: ${warning}`);
  for (const [name, report] of Object.entries(current.services ?? {})) {
    const before = previous?.services?.[name];
    if (before?.state === report.state && before.message === report.message) continue;
    messages.push(`${name}: ${report.state}${report.message ? `: ${report.message}` : ""}`);
  }
  for (const change of portForwardChanges(previous, current)) messages.push(portForwardMessage(change));
  for (const error of added(previous?.errors ?? [], current.errors)) messages.push(`error: ${error}`);
  if (current.running && (!previous?.running || previous.degraded !== current.degraded)) messages.push(current.degraded ? "running (degraded)" : "running");
  if (current.exiting && !previous?.exiting) messages.push("exiting");
  return messages.map((message) => excerpt(message, MaxMessageLength));
}

/** The forwards that started, stopped or newly failed between two statuses (from `services.ports.data`). */
export function portForwardChanges(previous: HostAgentStatus | undefined, current: HostAgentStatus): LimaPortForwardEvent[] {
  const before = portReport(previous);
  const after = portReport(current);
  const key = (forward: { proto: string; guest: string; host: string }) => `${forward.proto} ${forward.guest} ${forward.host}`;
  const beforeKeys = new Set(before.forwards.map(key));
  const afterKeys = new Set(after.forwards.map(key));
  const changes: LimaPortForwardEvent[] = [];
  for (const forward of after.forwards) {
    if (!beforeKeys.has(key(forward))) changes.push({ type: "forwarding", protocol: forward.proto, guestAddr: forward.guest, hostAddr: forward.host });
  }
  for (const forward of before.forwards) {
    if (!afterKeys.has(key(forward))) changes.push({ type: "stopping", protocol: forward.proto, guestAddr: forward.guest, hostAddr: forward.host });
  }
  const failureKey = (failure: PortForwardReport["failures"][number]) => `${failure.reason} ${failure.proto ?? ""} ${failure.guest ?? ""} ${failure.since}`;
  const beforeFailures = new Set(before.failures.map(failureKey));
  for (const failure of after.failures) {
    if (beforeFailures.has(failureKey(failure))) continue;
    changes.push({
      type: "failed",
      protocol: failure.proto ?? "tcp",
      guestAddr: failure.guest ?? "",
      ...(failure.host !== undefined && { hostAddr: failure.host }),
      error: failure.message,
    });
  }
  return changes;
}

/** `2006-01-02 15:04:05` in local time, as Lima prints an event's time. */
export function localTimestamp(date: Date): string {
  const two = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** The text lines of one event (none when nothing changed that a reader would see). */
export function renderWatchText(instance: string, event: HostAgentEvent, previous: HostAgentStatus | undefined): string {
  const time = new Date(event.time);
  const stamp = Number.isNaN(time.getTime()) ? excerpt(event.time, 40) : localTimestamp(time);
  return statusChanges(previous, event.status)
    .map((message) => `${stamp} ${instance} | ${message}\n`)
    .join("");
}

/**
 * The NDJSON lines of one event: `{instance, event}` as the host agent wrote it, or, when port forwards changed, one
 * line per change with Lima's `status.portForward` set.
 */
export function renderWatchJson(instance: string, event: HostAgentEvent, previous: HostAgentStatus | undefined): string {
  const changes = portForwardChanges(previous, event.status);
  if (changes.length === 0) return `${JSON.stringify({ instance, event })}\n`;
  return changes.map((portForward) => `${JSON.stringify({ instance, event: { ...event, status: { ...event.status, portForward } } })}\n`).join("");
}

function portForwardMessage(change: LimaPortForwardEvent): string {
  if (change.type === "forwarding") return `forwarding ${change.protocol} ${change.guestAddr} to ${change.hostAddr ?? ""}`;
  if (change.type === "stopping") return `stopping forwarding ${change.protocol} ${change.guestAddr}`;
  return `failed to forward ${change.protocol} ${change.guestAddr}: ${change.error ?? ""}`;
}

function portReport(status: HostAgentStatus | undefined): PortForwardReport {
  const parsed = PortForwardReportSchema.safeParse(status?.services?.ports?.data);
  return parsed.success ? parsed.data : { forwards: [], failures: [] };
}

/** The entries of `after` that `before` does not have (each as often as it is new). */
function added(before: readonly string[], after: readonly string[]): string[] {
  const left = [...before];
  return after.filter((entry) => {
    const at = left.indexOf(entry);
    if (at === -1) return true;
    left.splice(at, 1);
    return false;
  });
}
