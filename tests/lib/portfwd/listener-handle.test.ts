import { expect, test } from "bun:test";
import { ForwardOpenError } from "../../../lib/portfwd/forward-transport.ts";
import { listenerHandle } from "../../../lib/portfwd/listener-handle.ts";

test("listenerHandle() passes the listener's connections and close through", async () => {
  let closed = false;
  let connections = 0;
  const handle = await listenerHandle(
    { kind: "inet", ip: "127.0.0.1", port: 8080 },
    {
      via: "ssh",
      listen: async () => ({
        get connections() {
          return connections;
        },
        close: async () => {
          closed = true;
        },
      }),
    },
  );
  connections = 3;
  await handle.close();
  expect({ via: handle.via, connections: handle.connections, closed }).toEqual({ via: "ssh", connections: 3, closed: true });
});

test("listenerHandle() turns a listen error into a ForwardOpenError with the errno's words", async () => {
  const error = await listenerHandle(
    { kind: "inet", ip: "127.0.0.1", port: 80 },
    { via: "agent", listen: () => Promise.reject(Object.assign(new Error("listen EACCES"), { code: "EACCES" })) },
  ).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ForwardOpenError);
  expect(error).toMatchObject({ failure: { reason: "privileged-port", detail: "host port 80 is privileged and den does not run as root" } });
});
