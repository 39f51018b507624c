// Kernel events that mean "the listener list may have changed", read from a private tracefs instance so the agent
// neither disturbs nor is disturbed by anyone else using ftrace. The kernel filters the events before they reach us
// (only transitions into or out of TCP LISTEN, only successful bind()/listen()), so an idle guest and a guest busy with
// ordinary connections wake the agent not at all; each event only asks for a rescan, so a missed or extra event costs
// latency or a scan, never a wrong list.
import { appendFileSync, closeSync, existsSync, openSync, read, readdirSync, readFileSync, rmdirSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DenError } from "../../lib/errors.ts";

export interface TracefsTriggerOptions {
  /** Defaults to the first of /sys/kernel/tracing and /sys/kernel/debug/tracing that is mounted. */
  tracefsRoot?: string;
  /** Called when reading events fails after the start; the trigger is dead then and the caller should fall back. */
  onError?: (error: unknown) => void;
}

export interface TracefsTrigger {
  /** The events that are enabled, e.g. ["sock/inet_sock_set_state", "syscalls/sys_exit_bind"]. */
  readonly events: readonly string[];
  stop(): void;
}

interface EventSpec {
  path: string;
  filter?: string;
  /** The trigger refuses to start without it: a new listener would otherwise wait for the safety poll. */
  required: boolean;
}

const instancePrefix = "den-ports-";
const kprobeGroupPrefix = "den_ports_";
// TCP_LISTEN is 10 in include/net/tcp_states.h.
const tcpListen = 10;
let triggerSerial = 0;

function eventSpecs(kprobeGroup: string | undefined): EventSpec[] {
  const specs: EventSpec[] = [
    // TCP listen() and the close of a listener. Fires just before the socket enters (or leaves) the listening hash,
    // so the watcher confirms with a second scan a little later.
    { path: "sock/inet_sock_set_state", filter: `newstate == ${tcpListen} || oldstate == ${tcpListen}`, required: true },
    // Fires after listen() returned, when the socket is certainly visible.
    { path: "syscalls/sys_exit_listen", filter: "ret == 0", required: false },
    // UDP has no state tracepoint: a successful bind() is what makes a UDP socket a listener.
    { path: "syscalls/sys_exit_bind", filter: "ret == 0", required: true },
  ];
  // The close of a UDP socket has no tracepoint either; a kprobe on the function that unhashes it is the exact
  // signal. Kernels without kprobe events (or with the function renamed) leave UDP closes to the safety poll.
  if (kprobeGroup !== undefined) specs.push({ path: `${kprobeGroup}/udp_unhash`, required: false });
  return specs;
}

/** Creates a tracefs instance with the events enabled and calls `onEvent` whenever any of them fired. Throws a
 * DenError when tracefs or a required event is unavailable; the caller then polls instead. */
export function openTracefsTrigger(onEvent: () => void, options: TracefsTriggerOptions = {}): TracefsTrigger {
  const root = options.tracefsRoot ?? findTracefs();
  if (root === undefined) {
    throw new DenError("IO", "Cannot watch listeners through tracefs: tracefs is not mounted", {
      hint: "mount it with `mount -t tracefs nodev /sys/kernel/tracing`; the agent polls /proc/net meanwhile",
    });
  }
  removeStale(root);
  // Unique per trigger: a stopped trigger removes its instance only once its blocked read has returned.
  const serial = ++triggerSerial;
  const instance = join(root, "instances", `${instancePrefix}${process.pid}-${serial}`);
  const kprobeGroup = `${kprobeGroupPrefix}${process.pid}_${serial}`;
  const kprobe = addKprobe(root, kprobeGroup);
  try {
    mkdirSync(instance);
  } catch (error) {
    if (kprobe) removeKprobe(root, kprobeGroup);
    throw new DenError("IO", `Cannot watch listeners through tracefs: cannot create instance "${instance}"`, { cause: error });
  }
  const events: string[] = [];
  let fd: number | undefined;
  const cleanup = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    try {
      rmdirSync(instance);
    } catch {
      // A later start removes a leftover instance (removeStale).
    }
    if (kprobe) removeKprobe(root, kprobeGroup);
  };
  try {
    // Events arrive a handful at a time; a small per-CPU buffer is plenty and keeps the instance's memory low.
    writeFileSync(join(instance, "buffer_size_kb"), "16");
    for (const spec of eventSpecs(kprobe ? kprobeGroup : undefined)) {
      const dir = join(instance, "events", spec.path);
      try {
        if (spec.filter !== undefined) writeFileSync(join(dir, "filter"), spec.filter);
        writeFileSync(join(dir, "enable"), "1");
        events.push(spec.path);
      } catch (error) {
        if (spec.required) {
          throw new DenError("IO", `Cannot watch listeners through tracefs: cannot enable event "${spec.path}"`, {
            cause: error,
            hint: "the kernel lacks the tracepoint (CONFIG_FTRACE_SYSCALLS for syscalls/*); the agent polls /proc/net",
          });
        }
      }
    }
    fd = openSync(join(instance, "trace_pipe"), "r");
  } catch (error) {
    cleanup();
    throw error;
  }

  let stopped = false;
  // trace_pipe blocks until events arrive and then returns all that are buffered, so one read on the thread pool is
  // the whole wait: no timer, no wake-ups while nothing happens.
  const buffer = Buffer.alloc(64 * 1024);
  const readNext = (): void => {
    if (fd === undefined) return;
    read(fd, buffer, 0, buffer.length, null, (error, bytesRead) => {
      if (stopped) {
        cleanup();
        return;
      }
      // trace_pipe never ends while the instance exists; an end of file (the instance removed under us) would
      // otherwise be read again at once, forever: a loop that never sleeps.
      const failure = error ?? (bytesRead === 0 ? new DenError("IO", `Cannot watch listeners through tracefs: "${join(instance, "trace_pipe")}" reached its end`) : null);
      if (failure !== null) {
        stopped = true;
        cleanup();
        options.onError?.(failure);
        return;
      }
      onEvent();
      readNext();
    });
  };
  readNext();

  return {
    events,
    stop(): void {
      if (stopped) return;
      stopped = true;
      // A blocked read cannot be cancelled, so wake it with a marker; its callback then closes and removes the
      // instance. Should the marker fail, the instance is removed by the next start.
      try {
        writeFileSync(join(instance, "trace_marker"), "stop\n");
      } catch {
        // Nothing more to do: see above.
      }
    },
  };
}

function findTracefs(): string | undefined {
  for (const root of ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]) {
    if (existsSync(join(root, "instances"))) return root;
  }
  return undefined;
}

function addKprobe(root: string, group: string): boolean {
  try {
    appendFileSync(join(root, "kprobe_events"), `p:${group}/udp_unhash udp_lib_unhash\n`);
    return true;
  } catch {
    return false;
  }
}

function removeKprobe(root: string, group: string): void {
  try {
    appendFileSync(join(root, "kprobe_events"), `-:${group}/udp_unhash\n`);
  } catch {
    // Still enabled in a leftover instance; removeStale retries after removing it.
  }
}

// An agent killed with SIGKILL leaves its instance (and kprobe) behind; they cost a little memory and would make
// the kernel keep recording events for nobody.
function removeStale(root: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(join(root, "instances"));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.slice(instancePrefix.length).split("-")[0]);
    if (!name.startsWith(instancePrefix) || !Number.isInteger(pid) || isAlive(pid)) continue;
    try {
      rmdirSync(join(root, "instances", name));
    } catch {
      // Busy or gone: leave it.
    }
  }
  let kprobes = "";
  try {
    kprobes = readFileSync(join(root, "kprobe_events"), "utf8");
  } catch {
    return;
  }
  for (const match of kprobes.matchAll(new RegExp(`^p:(${kprobeGroupPrefix}(\\d+)_\\d+)/(\\S+)`, "gm"))) {
    if (isAlive(Number(match[2]))) continue;
    try {
      appendFileSync(join(root, "kprobe_events"), `-:${match[1]}/${match[3]}\n`);
    } catch {
      // Still in use somewhere: leave it.
    }
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
