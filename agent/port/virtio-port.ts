// The guest end of the virtio-serial port. Measured facts this relies on (Linux virtio_console under QEMU):
// - The device can be open only once (EBUSY), so one non-blocking fd serves reads and writes.
// - While no host is connected to the QEMU chardev, read() returns 0 and write() fails with EAGAIN (it does not drop
//   data), and poll() reports POLLHUP continuously, so "wait for the host" is a non-blocking write of the greeting
//   retried on a timer: epoll would spin on the HUP.
// - Blocking reads through node:fs use Bun's small thread pool (two threads on a 2-CPU guest): one parked read
//   starves every other async fs call in the agent. Bun.file(fd).stream() and .writer() poll the fd instead; they
//   moved 52 MiB/s guest→host and ~25 MiB/s host→guest under TCG, and idle at zero CPU.
// - The reader ends (EOF) when the host disconnects and leaves the fd open; a writer with unflushed data at that
//   moment stays parked, so each connection gets a fresh writer, and the host's resync logic discards whatever a
//   parked one may still flush into the next connection.
import { closeSync, constants, openSync, writeSync } from "node:fs";
import type { AgentPort, PortConnection } from "./agent-port.ts";
import { fileSinkWriter } from "./file-sink-writer.ts";

// While no host is connected the greeting is retried, quickly at first so a host that comes back at once (a new
// session) is served at once, then every 2 s: each retry wakes the whole Bun process. Measured under TCG with 50
// listeners, utime+stime over 60 s: an agent without a host used 1.95 % of a core retrying every 250 ms, 1.05 % with
// this backoff (a Bun process doing nothing: 0.12 %; the agent with its host connected: 0.45 %).
const HostPollMs = 250;
const HostPollMaxMs = 2_000;

export function openVirtioPort(path: string): AgentPort {
  return virtioFdPort(openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY));
}

/** The port on an open, non-blocking `fd` (the device, or a stand-in in tests), which it owns from now on. */
export function virtioFdPort(fd: number): AgentPort {
  return {
    async accept(greeting, signal) {
      let written = 0;
      let delayMs = HostPollMs;
      for (;;) {
        signal.throwIfAborted();
        try {
          written = writeSync(fd, greeting);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
        }
        await Bun.sleep(delayMs);
        delayMs = Math.min(delayMs * 2, HostPollMaxMs);
      }
      let open = true;
      // A write that fails leaves the sink in an unknown state; the reader's end tells the session the host is gone.
      const writer = fileSinkWriter(Bun.file(fd).writer({ highWaterMark: 256 * 1024 }), () => undefined);
      if (written < greeting.byteLength) writer.write(greeting.subarray(written));
      const connection: PortConnection = {
        chunks: (async function* () {
          try {
            for await (const chunk of Bun.file(fd).stream()) yield chunk;
          } finally {
            open = false;
          }
        })(),
        write(bytes) {
          if (open) writer.write(bytes);
        },
        congested: () => open && writer.congested(),
        onDrained: (listener) => writer.onDrained(listener),
      };
      return connection;
    },
    close() {
      closeSync(fd);
    },
  };
}
