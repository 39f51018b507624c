// Watches the guest's listening TCP sockets and bound UDP sockets and reports the full list on every change.
//
// Mechanism, chosen by measurement (scripts/measure-listener-detection.ts; test guest: Debian 12, kernel 6.1, 2 vCPUs
// under TCG on a 2-core host shared with other VMs, so absolute numbers are pessimistic; 50 listeners opened 200-300 ms
// apart, half TCP and half UDP; idle CPU is the process's utime+stime over 60 s with the 50 listeners open):
//
//   mechanism                      open p50 / p99     idle CPU    cost of one scan
//   Bun process doing nothing      -                  0.32-0.42%  -
//   poll /proc/net every 50 ms     38 / 178 ms        45%         4.1-5.7 ms (the kernel formats every socket)
//   poll /proc/net every 100 ms    63 / 259 ms        32%
//   poll sock_diag every 50 ms     28 / 169 ms        16%         1.7-2.3 ms (only listeners, binary)
//   tracefs events + /proc/net     19-36 / 245-438 ms 0.9-1.1%
//   tracefs events + sock_diag     16 / 192 ms        0.55%       (0.23% above the idle Bun process)
//
// Polling cannot meet both targets (100 ms p50 and < 0.5% of a core idle): at the rate the latency needs, even the
// cheaper sock_diag scan costs 30 times the CPU budget under emulation. Kernel events can: the tracepoints
// sock/inet_sock_set_state (filtered in the kernel to transitions into or out of TCP_LISTEN), syscalls/sys_exit_bind
// and sys_exit_listen, and a kprobe on udp_lib_unhash (UDP close) wake the agent only when a listener may have changed,
// so idle costs nothing but a slow safety scan, and each wake-up rescans with sock_diag, the cheaper scanner. The p99
// is the host's contention (vCPU threads not scheduled), not the mechanism. eBPF would save the rescans but needs a
// loader (libbpf or hand-built BPF syscalls) for no gain at this event rate.
//
// Fallbacks: without tracefs (not mounted, an unprivileged agent, a kernel without the tracepoints) the watcher polls
// once a second, which stays inside the CPU budget but not the latency target; without sock_diag (no glibc, no
// udp_diag) it scans /proc/net.
import type { GuestListener } from "../protocol/messages.ts";
import { normalizeListeners, sameListeners } from "./normalize-listeners.ts";
import { scanProcNet } from "./scan-proc-net.ts";
import { openSockDiagScanner, type SockDiagScanner } from "./scan-sock-diag.ts";
import { openTracefsTrigger, type TracefsTrigger } from "./tracefs-trigger.ts";

export type ListenerTrigger = "tracefs" | "poll";
export type ListenerScanner = "sock-diag" | "procfs";

export interface WatchListenersOptions {
  /** "auto" (the default) uses tracefs events when the kernel offers them and polls otherwise. */
  trigger?: "auto" | ListenerTrigger;
  /** Scan interval when polling. */
  pollIntervalMs?: number;
  /** Scan interval with tracefs events, for changes no event covers (a UDP socket closing without the kprobe). */
  safetyIntervalMs?: number;
  /** "auto" (the default) uses netlink sock_diag and falls back to /proc/net when it fails. */
  scanner?: "auto" | ListenerScanner;
  /** Replaces the scanner (tests, the measurement script). */
  scan?: () => GuestListener[];
  /** Replaces how the netlink scanner is opened (tests). */
  openSockDiag?: () => SockDiagScanner;
  /** Replaces the /proc/net scan (tests). */
  scanProcfs?: () => GuestListener[];
  /** Where tracefs is mounted; found automatically by default. */
  tracefsRoot?: string;
  /** Scan failures and a tracefs reader that died (the watcher then polls); the watcher keeps running. */
  onError?: (error: unknown) => void;
}

export interface ListenerWatch {
  /** What currently triggers rescans. */
  readonly trigger: ListenerTrigger;
  /** What currently lists the sockets ("custom" for options.scan). */
  readonly scanner: ListenerScanner | "custom";
  stop(): void;
}

// Without events, a poll fast enough for the latency target would cost tens of percent of a core (see above).
const defaultPollIntervalMs = 1_000;
// Only for changes no event reports (a UDP close on a kernel without the kprobe, an autobound UDP socket).
const defaultSafetyIntervalMs = 5_000;
// A TCP state event fires just before the socket is (un)hashed, so a scan right after it can miss the change.
const confirmDelayMs = 25;
// Bounds the scan rate when events flood in (a guest doing many UDP binds), at little cost to latency.
const minScanGapMs = 10;

/** Calls `onChange` synchronously with the current listeners, then again whenever the list changes. Lists are
 * sorted by proto, port and address and free of duplicates. */
export function watchListeners(onChange: (listeners: GuestListener[]) => void, options: WatchListenersOptions = {}): ListenerWatch {
  const source = openScanner(options);
  let current = normalizeListeners(source.scan());
  let stopped = false;
  let lastScanAt = 0;
  let soonTimer: ReturnType<typeof setTimeout> | undefined;
  let confirmTimer: ReturnType<typeof setTimeout> | undefined;
  let interval: ReturnType<typeof setInterval> | undefined;
  let tracefs: TracefsTrigger | undefined;

  const rescan = (): void => {
    if (stopped) return;
    lastScanAt = performance.now();
    let next: GuestListener[];
    try {
      next = normalizeListeners(source.scan());
    } catch (error) {
      options.onError?.(error);
      return;
    }
    if (sameListeners(current, next)) return;
    current = next;
    onChange(next);
  };

  const onEvent = (): void => {
    if (stopped) return;
    soonTimer ??= setTimeout(() => {
      soonTimer = undefined;
      rescan();
    }, Math.max(0, lastScanAt + minScanGapMs - performance.now()));
    clearTimeout(confirmTimer);
    confirmTimer = setTimeout(() => {
      confirmTimer = undefined;
      rescan();
    }, confirmDelayMs);
  };

  const startPolling = (intervalMs: number): void => {
    clearInterval(interval);
    interval = setInterval(rescan, intervalMs);
  };

  let trigger: ListenerTrigger = "poll";
  const wanted = options.trigger ?? "auto";
  if (wanted !== "poll") {
    try {
      tracefs = openTracefsTrigger(onEvent, {
        tracefsRoot: options.tracefsRoot,
        onError: (error) => {
          options.onError?.(error);
          tracefs = undefined;
          trigger = "poll";
          if (!stopped) startPolling(options.pollIntervalMs ?? defaultPollIntervalMs);
        },
      });
      trigger = "tracefs";
    } catch (error) {
      if (wanted === "tracefs") throw error;
    }
  }
  startPolling(trigger === "tracefs" ? (options.safetyIntervalMs ?? defaultSafetyIntervalMs) : (options.pollIntervalMs ?? defaultPollIntervalMs));

  const watch: ListenerWatch = {
    get trigger() {
      return trigger;
    },
    get scanner() {
      return source.name;
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      clearTimeout(soonTimer);
      clearTimeout(confirmTimer);
      clearInterval(interval);
      tracefs?.stop();
      source.close();
    },
  };
  try {
    onChange(current);
  } catch (error) {
    watch.stop();
    throw error;
  }
  return watch;
}

interface ScanSource {
  readonly name: ListenerScanner | "custom";
  scan(): GuestListener[];
  close(): void;
}

// sock_diag can be missing (no libc.so.6, a kernel without udp_diag) or fail now and then: a netlink dump under memory
// pressure can end in ENOBUFS or ENOMEM. /proc/net is always there but costs many times more per scan (see above), so
// one failure only sends that one scan to /proc/net, on a fresh netlink socket next time (the old one may still hold
// the rest of the broken dump); only failures in a row make /proc/net the scanner for good.
const sockDiagFailuresBeforeProcfs = 3;

function openScanner(options: WatchListenersOptions): ScanSource {
  const scan = options.scan;
  if (scan !== undefined) return { name: "custom", scan, close: () => {} };
  const scanProcfs = options.scanProcfs ?? (() => scanProcNet());
  const procfs: ScanSource = { name: "procfs", scan: scanProcfs, close: () => {} };
  const wanted = options.scanner ?? "auto";
  if (wanted === "procfs") return procfs;
  const openSockDiag = options.openSockDiag ?? openSockDiagScanner;
  let sockDiag: SockDiagScanner | undefined;
  try {
    sockDiag = openSockDiag();
    sockDiag.scan();
  } catch (error) {
    sockDiag?.close();
    if (wanted === "sock-diag") throw error;
    return procfs;
  }
  let failures = 0;
  let closed = false;
  return {
    get name() {
      return failures >= sockDiagFailuresBeforeProcfs ? "procfs" : "sock-diag";
    },
    scan(): GuestListener[] {
      if (failures >= sockDiagFailuresBeforeProcfs) return scanProcfs();
      try {
        sockDiag ??= openSockDiag();
        const listeners = sockDiag.scan();
        failures = 0;
        return listeners;
      } catch (error) {
        sockDiag?.close();
        sockDiag = undefined;
        if (wanted === "sock-diag") throw error;
        failures++;
        options.onError?.(error);
        return scanProcfs();
      }
    },
    close(): void {
      if (closed) return;
      closed = true;
      sockDiag?.close();
    },
  };
}
