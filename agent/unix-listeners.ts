// Reverse unix forwarding: the host asks for a socket in the guest (e.g. the host's docker.sock exposed at
// /run/user/1000/docker.sock); every connection to it becomes a stream the agent opens to the host.
import { chmod, chown, mkdir, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import type { ListenUnix } from "./protocol/messages.ts";

export class UnixListeners {
  readonly #servers = new Map<number, { server: Server; path: string }>();

  /** Creates the socket (replacing a stale file) with the requested owner and mode. */
  async listen(request: ListenUnix, onConnection: (socket: Socket) => void): Promise<void> {
    await this.close(request.id);
    await mkdir(dirname(request.path), { recursive: true });
    await rm(request.path, { force: true });
    const server = createServer({ allowHalfOpen: true }, onConnection);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(request.path, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.#servers.set(request.id, { server, path: request.path });
    try {
      await chmod(request.path, request.mode);
      await chown(request.path, request.uid, request.gid);
    } catch (error) {
      await this.close(request.id);
      throw error;
    }
  }

  async close(id: number): Promise<void> {
    const entry = this.#servers.get(id);
    if (!entry) return;
    this.#servers.delete(id);
    entry.server.close();
    await rm(entry.path, { force: true });
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#servers.keys()].map((id) => this.close(id)));
  }
}
