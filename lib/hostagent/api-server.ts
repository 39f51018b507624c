// The host agent's HTTP API on ha.sock (HTTP/1.1 over a unix socket, JSON bodies), as Lima serves /v1/info. den adds
// pause, resume and stop so the CLI never talks to QEMU directly: the host agent owns the VM and knows its state.
import { rm } from "node:fs/promises";
import { DenError } from "../errors.ts";
import type { BootStage } from "./boot-stage.ts";
import type { HostAgentStatus } from "./events.ts";

export interface HostAgentInfo {
  sshLocalPort: number;
  /** Broken: the VM process is gone while the host agent waits to be stopped; `errors` says why. */
  status: "Starting" | "Running" | "Paused" | "Broken";
  stage?: BootStage;
  degraded: boolean;
  errors: string[];
  services: NonNullable<HostAgentStatus["services"]>;
}

export interface ApiHandlers {
  info(): HostAgentInfo;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Starts the shutdown and returns at once; the caller follows ha.stdout.log for `exiting`. */
  stop(): void;
}

export interface ApiServer {
  close(): Promise<void>;
}

export async function startApiServer(socketPath: string, handlers: ApiHandlers): Promise<ApiServer> {
  // A socket file left by a killed host agent would make listen() fail with EADDRINUSE.
  await rm(socketPath, { force: true });
  const server = Bun.serve({
    unix: socketPath,
    fetch: (request) => route(request, handlers),
    error: (error) => json(500, { message: error.message }),
  });
  return {
    close: async () => {
      await server.stop(true);
      await rm(socketPath, { force: true });
    },
  };
}

async function route(request: Request, handlers: ApiHandlers): Promise<Response> {
  const { pathname } = new URL(request.url);
  const key = `${request.method} ${pathname}`;
  try {
    switch (key) {
      case "GET /v1/info":
        return json(200, handlers.info());
      case "POST /v1/pause":
        await handlers.pause();
        return json(200, { status: "Paused" });
      case "POST /v1/resume":
        await handlers.resume();
        return json(200, { status: "Running" });
      case "POST /v1/stop":
        handlers.stop();
        return json(202, { status: "Stopping" });
      default:
        return json(404, { message: `No route for ${key}` });
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return json(error instanceof DenError && error.code === "USAGE" ? 409 : 500, { message });
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}
