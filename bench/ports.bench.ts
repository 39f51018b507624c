// Port forwarding on the Debian test guest, all in one run against one VM:
// - throughput guest → host and host → guest through den's forwards (a data server on 0.0.0.0, which den has QEMU's
//   slirp forward itself, and one on 127.0.0.1, which only the guest agent channel reaches), through `ssh -L` via the
//   instance's ssh.config, and through a slirp hostfwd the bench adds by hand over QMP, as the direct path;
// - listener detection: from a request to listen (sent over a forwarded control connection) until the host port
//   accepts a connection, for 50 listeners one after another, p50 / p99, with the control round trip alongside;
// - the guest agent's CPU use over 30 s while idle with those 50 listeners open.
// Under TCG the guest CPU bounds every path; the ratios are the figures, absolute numbers depend on this machine.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectQmp } from "../drivers/qemu/qmp-client.ts";
import { freeTcpPort } from "../lib/net/free-tcp-port.ts";
import { PortForwardReportSchema } from "../lib/portfwd/port-forward-report.ts";
import { HostAgentStderrLog, QmpSock, SshConfig } from "../lib/store/filenames.ts";
import { den, guestTemplate } from "../tests/e2e/support/den-cli.ts";
import { ensureGuestImage } from "../tests/e2e/support/guest-image.ts";
import { renderTable } from "./table.ts";
import { percentile } from "../lib/mounts/inotify/measure-inotify-latency.ts";

const Name = "bench";
const DataPort = 17001;
const ControlPort = 17002;
const LoopbackDataPort = 17003;
const FirstListenerPort = 17100;
const Listeners = 50;
const TransferBytes = 64 * 1024 * 1024;
const IdleSeconds = 30;

// The guest side: a data server (GET n → n bytes; PUT n + n bytes → "ok") and a control server that opens listeners on
// request and answers once listen() has returned.
const guestScript = `
import socket, sys, threading
def serve_data(conn):
    f = conn.makefile("rb")
    verb, n = f.readline().split()
    n = int(n)
    if verb == b"GET":
        chunk = b"\\0" * 65536
        while n > 0:
            conn.sendall(chunk[:min(n, len(chunk))]); n -= min(n, len(chunk))
    else:
        while n > 0:
            data = f.read(min(n, 65536))
            if not data: break
            n -= len(data)
        conn.sendall(b"ok\\n")
    conn.close()
def accept_loop(server, handler):
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handler, args=(conn,), daemon=True).start()
held = []
def serve_control(conn):
    f = conn.makefile("rb")
    for line in f:
        if line.startswith(b"ping"):
            conn.sendall(b"pong\\n"); continue
        port = int(line.split()[1])
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port)); s.listen(16); held.append(s)
        threading.Thread(target=accept_loop, args=(s, lambda c: c.close()), daemon=True).start()
        conn.sendall(b"ok\\n")
def listen(port, host="0.0.0.0"):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(64); return s
threading.Thread(target=accept_loop, args=(listen(${DataPort}), serve_data), daemon=True).start()
threading.Thread(target=accept_loop, args=(listen(${LoopbackDataPort}, "127.0.0.1"), serve_data), daemon=True).start()
accept_loop(listen(${ControlPort}), serve_control)
`;

const image = await ensureGuestImage();
const dir = await mkdtemp(join(tmpdir(), "den-ports-bench-"));
const home = join(dir, "home");
const instanceDir = join(home, Name);
const children: { kill(): void }[] = [];
try {
  await mkdir(home);
  await writeFile(join(dir, "guest.yaml"), guestTemplate(image));
  if ((await den(home, ["create", join(dir, "guest.yaml"), "--name", Name])).exitCode !== 0) throw new Error("den create failed");
  const start = await den(home, ["start", Name]);
  if (start.exitCode !== 0) throw new Error(`den start failed:\n${start.stderr}`);

  const ssh = (command: string) => Bun.spawnSync(["ssh", "-F", join(instanceDir, SshConfig), `den-${Name}`, command], { stdout: "pipe", stderr: "pipe" });
  const script = Buffer.from(guestScript).toString("base64");
  const launched = ssh(`echo ${script} | base64 -d > /tmp/den-bench.py && (setsid nohup python3 /tmp/den-bench.py >/tmp/den-bench.log 2>&1 < /dev/null &)`);
  if (!launched.success) throw new Error(`cannot start the guest side: ${launched.stderr.toString()}`);

  const denWildcard = await hostPortOf(DataPort);
  const denLoopback = await hostPortOf(LoopbackDataPort);
  const sshPort = await freeTcpPort();
  const sshForward = Bun.spawn(["ssh", "-F", join(instanceDir, SshConfig), "-N", "-o", "ControlPath=none", "-o", "ExitOnForwardFailure=yes", "-L", `127.0.0.1:${sshPort}:127.0.0.1:${DataPort}`, `den-${Name}`], { stdout: "ignore", stderr: "inherit" });
  children.push(sshForward);
  const directPort = await freeTcpPort();
  const qmp = await connectQmp(join(instanceDir, QmpSock));
  await qmp.humanMonitorCommand(`hostfwd_add net0 tcp:127.0.0.1:${directPort}-:${DataPort}`);
  await qmp.close();
  await waitForPort(sshPort);

  const rows: (string | number)[][] = [];
  const results: Record<string, { down: number; up: number }> = {};
  const cases: [string, number][] = [
    ["direct (slirp hostfwd by hand)", directPort],
    [`den forward, guest 0.0.0.0 (via ${denWildcard.via})`, denWildcard.port],
    [`den forward, guest 127.0.0.1 (via ${denLoopback.via})`, denLoopback.port],
    ["ssh -L", sshPort],
  ];
  for (const [path, port] of cases) {
    await download(port, 4 * 1024 * 1024); // warm-up
    const down = await best(3, () => download(port, TransferBytes));
    const up = await best(3, () => upload(port, TransferBytes));
    results[path] = { down, up };
  }
  const sshResult = results["ssh -L"] as { down: number; up: number };
  for (const [path, result] of Object.entries(results)) rows.push([path, result.down, result.up, result.down / sshResult.down, result.up / sshResult.up]);
  console.log(renderTable(["path", "guest→host MiB/s", "host→guest MiB/s", "down vs ssh -L", "up vs ssh -L"], rows));
  // Which agent protocol the agent rows measured (a host and an agent of different builds agree on the older one).
  const connected = (await readFile(join(instanceDir, HostAgentStderrLog), "utf8")).match(/guest agent connected: .*, protocol (\d+),/);
  console.log(`\nguest agent protocol: ${connected?.[1] ?? "unknown"}`);

  // Detection: the request to listen is sent to the guest over a forwarded control connection (its server is on
  // 0.0.0.0, so that is QEMU's slirp forward; the 127.0.0.1 listeners it opens go over the agent); the clock runs until
  // the host port accepts. Timing from the guest's acknowledgement instead would be wrong: it races the listener list
  // on its way to the host, so the forward is often up before it arrives. The request travels host → guest first, so
  // the control connection's round trip (a ping) is measured too: half of it is the share that is not detection.
  const control = await openControl((await hostPortOf(ControlPort)).port);
  const latencies: number[] = [];
  const roundTrips: number[] = [];
  for (let i = 0; i < Listeners; i++) {
    const pinged = performance.now();
    await control.request("ping\n");
    roundTrips.push(performance.now() - pinged);
    const port = FirstListenerPort + i;
    const requested = performance.now();
    await control.request(`listen ${port}\n`);
    await waitForPort(port, 10_000, 1);
    latencies.push(performance.now() - requested);
  }
  const detection = (q: number) => percentile(latencies, q);
  const roundTrip = (q: number) => percentile(roundTrips, q);
  console.log(
    `\nlistener detection (request to listen sent → host port accepts), ${Listeners} listeners: p50 ${detection(0.5).toFixed(1)} ms, p99 ${detection(0.99).toFixed(1)} ms, max ${detection(1).toFixed(1)} ms` +
      `\n  (control round trip through the forward: p50 ${roundTrip(0.5).toFixed(1)} ms, p99 ${roundTrip(0.99).toFixed(1)} ms)`,
  );

  // Idle CPU of the agent with the 50 listeners open: its utime+stime ticks over 30 s. The service's main PID is the
  // runtime the wrapper exec'd (its name is not den-guestagent). Under TCG a guest tick of CPU costs several host
  // ticks, so the same runtime idling with a timer (the baseline of bench agent-idle) is measured beside it, in the
  // same window: the ratio is the figure, the percentage is of an emulated core.
  const cpu = ssh(
    [
      "p=$(systemctl show -p MainPID --value den-guestagent.service)",
      "BUN_BE_BUN=1 /run/den/runtime/bun -e 'setInterval(() => {}, 1000)' >/dev/null 2>&1 &",
      "q=$!",
      "sleep 3",
      "a=$(awk '{print $14+$15}' /proc/$p/stat); c=$(awk '{print $14+$15}' /proc/$q/stat)",
      `sleep ${IdleSeconds}`,
      "b=$(awk '{print $14+$15}' /proc/$p/stat); d=$(awk '{print $14+$15}' /proc/$q/stat)",
      "kill $q",
      "echo $((b-a)) $((d-c)) $(getconf CLK_TCK)",
    ].join("\n"),
  );
  const [ticks, baselineTicks, hz] = cpu.stdout.toString().trim().split(" ").map(Number);
  if (!cpu.success || ticks === undefined || baselineTicks === undefined || !hz) console.log(`\nagent idle CPU: cannot measure (${cpu.stderr.toString().trim()})`);
  else {
    const percent = (n: number) => ((n / hz / IdleSeconds) * 100).toFixed(2);
    console.log(
      `\nagent idle CPU with ${Listeners + 3} listeners, in the guest (TCG): ${percent(ticks)} % of one emulated core (${ticks} ticks in ${IdleSeconds} s);` +
        `\n  idle bun -e setInterval beside it (baseline): ${percent(baselineTicks)} % (${baselineTicks} ticks)`,
    );
  }
  control.close();
} finally {
  for (const child of children) child.kill();
  await den(home, ["stop", Name]).catch(() => undefined);
  await den(home, ["delete", "--force", Name]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

/** The host port den forwards a guest port to and the path it uses, from `den ports --json` (waits for the forward). */
async function hostPortOf(guestPort: number): Promise<{ port: number; via: string }> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const run = await den(home, ["ports", Name, "--json"]);
    if (run.exitCode === 0) {
      const report = PortForwardReportSchema.parse(JSON.parse(run.stdout));
      const forward = report.forwards.find((entry) => entry.proto === "tcp" && entry.guest.split(", ").some((guest) => guest.endsWith(`:${guestPort}`)));
      if (forward) return { port: Number(forward.host.slice(forward.host.lastIndexOf(":") + 1)), via: forward.via ?? "unknown" };
    }
    await Bun.sleep(200);
  }
  throw new Error(`den did not forward guest port ${guestPort} within 30 s`);
}

async function waitForPort(port: number, timeoutMs = 30_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
    await Bun.sleep(intervalMs);
  }
}

/** MiB/s of the best of `runs`. */
async function best(runs: number, transfer: () => Promise<number>): Promise<number> {
  let top = 0;
  for (let i = 0; i < runs; i++) top = Math.max(top, await transfer());
  return top;
}

function download(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const started = performance.now();
    let received = 0;
    socket.on("data", (chunk) => (received += chunk.length));
    socket.once("error", reject);
    socket.once("close", () => (received === bytes ? resolve(bytes / 1048576 / ((performance.now() - started) / 1000)) : reject(new Error(`got ${received} of ${bytes} bytes`))));
    socket.write(`GET ${bytes}\n`);
  });
}

function upload(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const started = performance.now();
    const chunk = Buffer.alloc(256 * 1024);
    let sent = 0;
    socket.once("error", reject);
    socket.once("data", () => {
      resolve(bytes / 1048576 / ((performance.now() - started) / 1000));
      socket.destroy();
    });
    const pump = () => {
      while (sent < bytes) {
        const piece = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
        sent += piece.length;
        if (!socket.write(piece)) return void socket.once("drain", pump);
      }
    };
    socket.write(`PUT ${bytes}\n`);
    pump();
  });
}

async function openControl(port: number): Promise<{ request(line: string): Promise<void>; close(): void }> {
  const socket: Socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return {
    request: (line) =>
      new Promise<void>((resolve) => {
        socket.once("data", () => resolve());
        socket.write(line);
      }),
    close: () => socket.destroy(),
  };
}
