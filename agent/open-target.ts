// Connects a stream the host opened to its target in the guest: a TCP or unix socket, or a connected UDP socket whose
// datagrams map one to one onto the stream's chunks.
import { createSocket } from "node:dgram";
import { createConnection, isIPv6 } from "node:net";
import type { OpenRequest } from "./protocol/stream-mux.ts";
import { splice } from "./protocol/splice.ts";

const ConnectTimeoutMs = 10_000;

/** Answers one OPEN from the host: accepts and splices on success, rejects with the errno otherwise. */
export function openTarget(request: OpenRequest, log: (line: string) => void): void {
  const { target } = request;
  if (target.kind === "tcp" || target.kind === "unix") {
    const socket =
      target.kind === "tcp"
        ? createConnection({ host: target.host, port: target.port, allowHalfOpen: true, timeout: ConnectTimeoutMs })
        : createConnection({ path: target.path, allowHalfOpen: true, timeout: ConnectTimeoutMs });
    const onError = (error: NodeJS.ErrnoException) => request.reject({ errno: error.code ?? "EIO", message: error.message });
    socket.once("error", onError);
    socket.once("timeout", () => socket.destroy(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" })));
    socket.once("connect", () => {
      socket.off("error", onError);
      socket.setTimeout(0);
      if (target.kind === "tcp") socket.setNoDelay(true);
      splice(socket, request.accept()).catch(() => undefined);
    });
    return;
  }
  if (target.kind === "udp") return openUdp(request, target, log);
  request.reject({ errno: "EINVAL", message: `the host cannot open a stream of kind "${target.kind}"` });
}

function openUdp(request: OpenRequest, target: { host: string; port: number }, log: (line: string) => void): void {
  const socket = createSocket(isIPv6(target.host) ? "udp6" : "udp4");
  const onError = (error: NodeJS.ErrnoException) => {
    socket.close();
    request.reject({ errno: error.code ?? "EIO", message: error.message });
  };
  socket.once("error", onError);
  socket.connect(target.port, target.host, () => {
    socket.off("error", onError);
    const stream = request.accept();
    let dropped = 0;
    socket.on("message", (message) => {
      // UDP may lose datagrams; buffering without bound for a slow host reader would not be better.
      if (!stream.write(message)) dropped++;
    });
    socket.on("error", (error) => stream.destroy(error));
    stream.on("data", (datagram: Buffer) => socket.send(datagram));
    stream.on("error", () => undefined);
    stream.on("close", () => {
      if (dropped > 0) log(`udp ${target.host}:${target.port}: dropped ${dropped} datagrams the host did not read in time`);
      socket.close();
    });
    stream.on("end", () => stream.end());
  });
}
