// What the forwarder holds at one moment: the forwards that are up, keyed, and the failures that stand, keyed by
// what failed (`listen <forward>`, `tunnel <forward>`, `conflict …`, `limit`, `agent`). The report is built from
// it, and one report goes out per change, or one per pass while a batch runs (each report is a whole event line in
// ha.stdout.log, and the guest decides how many changes a listener list brings).
import type { Logger } from "../log.ts";
import type { ForwardHandle, ForwardRequest } from "./forward-transport.ts";
import type { PlannedForward } from "./plan-forwards.ts";
import type { ActiveForward, ForwardFailure, PortForwardReport } from "./port-forward-report.ts";

export interface LedgerEntry {
  /** The report's row, but for the connections the handle counts. */
  forward: Omit<ActiveForward, "connections">;
  handle: ForwardHandle;
  /** Present for forwards of guest listeners (not of socket rules): the reconciler's own. */
  planned?: PlannedForward;
  /** What the transport was given; the reconciler moves its guest end as the plan changes. */
  request?: ForwardRequest;
}

export interface ForwardLedger {
  readonly active: Map<string, LedgerEntry>;
  readonly failures: ReadonlyMap<string, ForwardFailure>;
  readonly closed: boolean;
  report(): PortForwardReport;
  /** Publishes the report now, or at the end of the running batch; nothing once closed. */
  emit(): void;
  /**
   * Records a failure and logs it when it is new or its message changed, so a retried failure does not spam.
   * `ongoing`: one failure whose text follows a count (the cap): it keeps its first `since`, and is logged only
   * when it first appears.
   */
  fail(key: string, failure: Omit<ForwardFailure, "since">, options?: { ongoing?: boolean }): void;
  clear(key: string): void;
  /** Forgets a failure without a report of its own: the caller reports the change that made it moot. */
  forget(key: string): void;
  /**
   * A transport's onTunnel for the forward `key`: a connection that cannot reach the guest stands as a
   * `tunnel-failed` failure until one does. `where` is read when it fails, as the forward's guest end may move.
   */
  tunnelOutcome(key: string, where: () => { proto: "tcp" | "udp" | "unix"; guest: string; host: string }): (outcome: { error?: unknown }) => void;
  /** Runs `pass` with reports held back, then sends one if anything changed. */
  batch(pass: () => Promise<void>): Promise<void>;
  close(): void;
}

export interface ForwardLedgerOptions {
  onChange: (report: PortForwardReport) => void;
  failureLog: Logger;
  /**
   * Where ongoing failures (the cap) are logged; failureLog by default. Its own rate-limit budget keeps the one line
   * that says the cap was reached from being swallowed by a burst of per-port failures in the same pass.
   */
  ongoingLog?: Logger;
  now: () => string;
}

export function createForwardLedger(options: ForwardLedgerOptions): ForwardLedger {
  const active = new Map<string, LedgerEntry>();
  const failures = new Map<string, ForwardFailure>();
  let closed = false;
  let batching = false;
  let changed = false;

  const ledger: ForwardLedger = {
    active,
    failures,
    get closed() {
      return closed;
    },
    report: () => ({
      forwards: [...active.values()]
        .map((entry) => ({ ...entry.forward, connections: entry.handle.connections }))
        .sort((a, b) => a.host.localeCompare(b.host, undefined, { numeric: true })),
      failures: [...failures.values()],
    }),
    emit: () => {
      if (closed) return;
      if (batching) changed = true;
      else options.onChange(ledger.report());
    },
    fail: (key, failure, { ongoing = false } = {}) => {
      const previous = failures.get(key);
      if (previous?.message === failure.message) return;
      failures.set(key, { ...failure, since: (ongoing && previous?.since) || options.now() });
      // An ongoing failure was logged when it first appeared; the report carries its new count.
      if (!(ongoing && previous)) {
        const fields = { reason: failure.reason, ...(failure.hint && { hint: failure.hint }) };
        const log = ongoing ? (options.ongoingLog ?? options.failureLog) : options.failureLog;
        if (failure.negligible) log.info(failure.message, fields);
        else log.warn(failure.message, fields);
      }
      ledger.emit();
    },
    clear: (key) => {
      if (failures.delete(key)) ledger.emit();
    },
    forget: (key) => {
      failures.delete(key);
    },
    tunnelOutcome: (key, where) => (outcome) => {
      if (outcome.error === undefined) return ledger.clear(`tunnel ${key}`);
      const { proto, guest, host } = where();
      const reason = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      ledger.fail(`tunnel ${key}`, {
        reason: "tunnel-failed",
        proto,
        guest,
        host,
        message: `Cannot carry a connection from host ${host} to guest ${proto.toUpperCase()} ${guest}: ${reason}`,
        hint: "the guest service may have stopped listening; see ha.stderr.log in the instance folder",
      });
    },
    batch: async (pass) => {
      batching = true;
      try {
        await pass();
      } finally {
        batching = false;
      }
      if (changed) {
        changed = false;
        ledger.emit();
      }
    },
    close: () => {
      closed = true;
    },
  };
  return ledger;
}
