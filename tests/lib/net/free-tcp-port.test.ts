import { expect, test } from "bun:test";
import { createServer } from "node:net";
import { freeTcpPort } from "../../../lib/net/free-tcp-port.ts";

test("freeTcpPort() returns a port that a listener on 127.0.0.1 can bind", async () => {
  const port = await freeTcpPort();
  expect(port).toBeGreaterThan(0);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
