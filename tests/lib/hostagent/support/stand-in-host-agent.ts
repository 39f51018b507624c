// A stand-in for the host agent's ha.sock: a Bun.serve on the unix socket with canned routes, for the client tests.
import { join } from "node:path";

export type Route = (request: Request) => Response | Promise<Response>;

export interface StandInHostAgent extends AsyncDisposable {
  /** Every request seen, as `METHOD /path`. */
  requests: string[];
  stop(): Promise<void>;
}

/** Serves `routes` (keyed `METHOD /path`) on `<dir>/ha.sock`; unknown routes answer 404 with a JSON message. */
export function serveStandInHostAgent(dir: string, routes: Record<string, Route>): StandInHostAgent {
  const requests: string[] = [];
  const server = Bun.serve({
    unix: join(dir, "ha.sock"),
    fetch(request) {
      const key = `${request.method} ${new URL(request.url).pathname}`;
      requests.push(key);
      const route = routes[key];
      return route ? route(request) : Response.json({ message: `no route ${key}` }, { status: 404 });
    },
  });
  const stop = async (): Promise<void> => {
    await server.stop(true);
  };
  return { requests, stop, [Symbol.asyncDispose]: stop };
}

/** A `/v1/info` answer. */
export function infoResponse(status: "Starting" | "Running" | "Paused" | "Broken", extra: Record<string, unknown> = {}): Response {
  return Response.json({ sshLocalPort: 60022, status, degraded: false, errors: [], ...extra });
}
