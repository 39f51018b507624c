// A stand-in for qemu-system-x86_64 that speaks just enough QMP for the driver's tests: it answers --version,
// serves the -qmp socket, and either exits on its own ("crash") or powers off on system_powerdown ("obedient").
import { createServer, type Socket } from "node:net";

const [mode, ...args] = process.argv.slice(2);
if (args[0] === "--version") {
  console.log("QEMU emulator version 7.2.22 (fake)");
  process.exit(0);
}
const qmp = args[args.indexOf("-qmp") + 1] ?? "";
const path = /^unix:([^,]+)/.exec(qmp)?.[1] ?? "";
let running = true;
const server = createServer((socket: Socket) => {
  socket.write(`${JSON.stringify({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 }, package: "" }, capabilities: [] } })}\n`);
  let buffer = "";
  socket.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk;
    for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
      const { execute, id } = JSON.parse(buffer.slice(0, newline)) as { execute: string; id: number };
      buffer = buffer.slice(newline + 1);
      if (execute === "stop") running = false;
      if (execute === "cont") running = true;
      const answer = execute === "query-status" ? { running, status: running ? "running" : "paused" } : {};
      socket.write(`${JSON.stringify({ return: answer, id })}\n`);
      if (execute === "system_powerdown" && mode === "obedient") setTimeout(() => process.exit(0), 50);
    }
  });
});
server.listen(path);
if (mode === "crash") {
  setTimeout(() => {
    console.error("qemu-system-x86_64: guest crashed (fake)");
    process.exit(7);
  }, 400);
}
