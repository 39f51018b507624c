// den-guestagent: the program den installs in every (non-plain) guest as /usr/local/bin/den-guestagent, run by
// den-guestagent.service. Subcommands:
//   den-guestagent [serve] [--port PATH]   serve the host over the virtio-serial port (the default)
//   den-guestagent serve --socket PATH     serve on a unix socket instead (trying the agent outside a guest; no clock sync)
//   den-guestagent serve --vsock PORT      serve on an AF_VSOCK port (VZ guests: 2222, which the den VZ helper connects to)
//   den-guestagent --version
//   den-guestagent yq ...                  boot.sh's yq provisioning (agent/yq-command.ts)
// Logs go to stderr, which systemd puts in the journal.
import { startTimeSync } from "./clock/time-sync.ts";
import { systemClock } from "./clock/system-clock.ts";
import { applyFsEvents } from "./fs-events.ts";
import { serveAgent } from "./agent.ts";
import type { AgentPort } from "./port/agent-port.ts";
import { listenSocketPort } from "./port/socket-port.ts";
import { openVirtioPort } from "./port/virtio-port.ts";
import { listenVsockPort } from "./port/vsock-port.ts";
import { watchListeners } from "./ports/watch-listeners.ts";
import { agentArch, agentVersion } from "./version.ts";
import { runYqCommand } from "./yq-command.ts";

// The guest runs the agent as `BUN_BE_BUN=1 <runtime> den-guestagent.js` (the runtime may be a compiled den
// executable, which the variable turns into plain bun); a program the agent starts must not inherit it, or a compiled
// Bun program among them would run as bun instead of itself.
delete process.env.BUN_BE_BUN;

// Defined only when a test builds the agent as an older den shipped it (one compiled binary speaking protocol 1), to
// prove that a new host works with it and that `den start` upgrades it: tests/e2e/guest-agent.test.ts.
declare const DEN_AGENT_MAX_PROTOCOL: number | undefined;
const protocols = typeof DEN_AGENT_MAX_PROTOCOL === "number" ? { min: 1, max: DEN_AGENT_MAX_PROTOCOL } : undefined;

const DefaultPort = "/dev/virtio-ports/io.den.agent.0";
const usage = "usage: den-guestagent [serve [--port PATH | --socket PATH | --vsock PORT]] | --version | yq ...";

async function main(args: string[]): Promise<number> {
  const [command = "serve", ...rest] = args;
  if (command === "--version" || command === "version") {
    process.stdout.write(`den-guestagent ${agentVersion()}\n`);
    return 0;
  }
  if (command === "yq") return runYqCommand(rest);
  if (command === "--help" || command === "-h") {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (command !== "serve") {
    process.stderr.write(`error: Unknown command "${command}"\n${usage}\n`);
    return 2;
  }
  const [option = "--port", path = DefaultPort, ...extra] = rest;
  const kind = option === "--port" ? "virtio" : option === "--socket" ? "socket" : option === "--vsock" && /^\d{1,10}$/.test(path) ? "vsock" : undefined;
  if (kind === undefined || extra.length > 0) {
    process.stderr.write(`error: Cannot parse "serve ${rest.join(" ")}"\n${usage}\n`);
    return 2;
  }
  return serve(path, kind);
}

function openPort(path: string, kind: "virtio" | "socket" | "vsock"): Promise<AgentPort> | AgentPort {
  if (kind === "socket") return listenSocketPort(path);
  if (kind === "vsock") return listenVsockPort(Number(path));
  return openVirtioPort(path);
}

async function serve(path: string, kind: "virtio" | "socket" | "vsock"): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  // Nothing in the agent needs flushing on exit: the host re-syncs from scratch with the next process.
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0));
  let port: AgentPort;
  try {
    port = await openPort(path, kind);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    log(`error: Cannot open ${kind === "vsock" ? `vsock port ${path}` : `"${path}"`}: ${reason}`);
    return 1;
  }
  log(`den-guestagent ${agentVersion()} serving ${kind === "vsock" ? `vsock port ${path}` : path}`);
  // Only inside a VM: an agent tried out on a unix socket runs on someone's own machine, whose clock is not its to set.
  const timeSync = kind === "socket" ? undefined : startTimeSync(systemClock(), { log });
  try {
    await serveAgent(
      {
        port,
        version: agentVersion(),
        arch: agentArch(),
        log,
        watchListeners: (onChange) => watchListeners(onChange, { onError: (error) => log(`listeners: ${error instanceof Error ? error.message : String(error)}`) }),
        applyFsEvents,
        ...(timeSync && { timeSync }),
        ...(protocols && { protocols }),
      },
      new AbortController().signal,
    );
  } finally {
    timeSync?.stop();
    port.close();
  }
  return 0;
}

// An unexpected error is logged and ends the process; systemd restarts it (Restart=always).
process.on("uncaughtException", (error) => {
  process.stderr.write(`fatal: ${error.stack ?? String(error)}\n`);
  process.exit(1);
});
process.exit(await main(process.argv.slice(2)));
