import { expect, test } from "bun:test";
import { engineOfSocket, engineSockets } from "../../../lib/status/engine-sockets.ts";

test.each([
  { path: "/d/vm/sock/docker.sock", engine: "docker" },
  { path: "/run/user/1000/docker.sock", engine: "docker" },
  { path: "/d/vm/sock/podman.sock", engine: "podman" },
  { path: "/run/user/1000/podman/podman.sock", engine: "podman" },
  { path: "/run/containerd/containerd.sock", engine: "containerd" },
  { path: "/run/user/1000/buildkit/buildkitd.sock", engine: "buildkit" },
  { path: "/d/vm/sock/buildkitd.sock", engine: "buildkit" },
  { path: "/d/vm/sock/mydocker.sock", engine: undefined },
  { path: "/d/vm/sock/app.sock", engine: undefined },
])("engineOfSocket() recognises $path", ({ path, engine }) => {
  expect(engineOfSocket(path)).toBe(engine);
});

const rule = (hostSocket: string | undefined, guestSocket?: string, extra: { ignore?: boolean; reverse?: boolean } = {}) => ({ hostSocket, guestSocket, ignore: false, reverse: false, ...extra });

test.each<{ name: string; rules: ReturnType<typeof rule>[]; sockets: Record<string, string> }>([
  { name: "no socket forwards", rules: [rule(undefined)], sockets: {} },
  { name: "the docker template", rules: [rule("/d/vm/sock/docker.sock", "/run/user/1000/docker.sock")], sockets: { docker: "/d/vm/sock/docker.sock" } },
  { name: "an engine named by the guest side", rules: [rule("/d/vm/sock/engine.sock", "/run/podman/podman.sock")], sockets: { podman: "/d/vm/sock/engine.sock" } },
  { name: "an unknown socket by its file name", rules: [rule("/d/vm/sock/app.sock", "/run/app.sock")], sockets: { "app.sock": "/d/vm/sock/app.sock" } },
  { name: "two of one engine", rules: [rule("/a/docker.sock"), rule("/b/docker.sock")], sockets: { docker: "/a/docker.sock", "docker-2": "/b/docker.sock" } },
  { name: "no ignored or reverse forwards", rules: [rule("/a/docker.sock", undefined, { ignore: true }), rule("/b/podman.sock", "/p", { reverse: true })], sockets: {} },
])("engineSockets() keys $name", ({ rules, sockets }) => {
  expect(engineSockets(rules)).toEqual(sockets);
});
