import { expect, test } from "bun:test";
import { createContextArgv, dockerContextName, dockerEndpointOption, dockerHostSocket, inspectContextArgv, socketPathProblem, updateContextArgv } from "../../../lib/docker-context/docker-context-args.ts";

const forward = (hostSocket: string | undefined, extra: { ignore?: boolean; reverse?: boolean } = {}) => ({ hostSocket, ignore: false, reverse: false, ...extra });

test.each([
  { name: "the docker template's forward", rules: [forward("/d/vm/sock/docker.sock")], socket: "/d/vm/sock/docker.sock" },
  { name: "the first docker.sock among others", rules: [forward(undefined), forward("/d/vm/sock/podman.sock"), forward("/x/docker.sock"), forward("/y/docker.sock")], socket: "/x/docker.sock" },
  { name: "no podman socket", rules: [forward("/d/vm/sock/podman.sock")], socket: undefined },
  { name: "no ignored or reverse forward", rules: [forward("/a/docker.sock", { ignore: true }), forward("/b/docker.sock", { reverse: true })], socket: undefined },
  { name: "nothing", rules: [], socket: undefined },
])("dockerHostSocket() finds $name", ({ rules, socket }) => {
  expect(dockerHostSocket(rules)).toBe(socket);
});

test.each([
  { name: "a plain path", socket: "/d/vm/sock/docker.sock", option: "host=unix:///d/vm/sock/docker.sock" },
  { name: "a path with spaces", socket: "/d/my vm/sock/docker.sock", option: "host=unix:///d/my vm/sock/docker.sock" },
  { name: "a path with a comma", socket: "/d/a,b/docker.sock", option: '"host=unix:///d/a,b/docker.sock"' },
])("dockerEndpointOption() writes $name", ({ socket, option }) => {
  expect(dockerEndpointOption(socket)).toBe(option);
});

test.each<{ socket: string; problem: string | undefined }>([
  { socket: "/d/vm/docker.sock", problem: undefined },
  { socket: '/d/"vm"/docker.sock', problem: "docker cannot store a socket path holding a quote or a line break" },
  { socket: "/d/v\nm/docker.sock", problem: "docker cannot store a socket path holding a quote or a line break" },
])("socketPathProblem() judges $socket", ({ socket, problem }) => {
  expect(socketPathProblem(socket)).toBe(problem);
});

test.each<{ name: string; argv: string[]; expected: string[] }>([
  { name: "inspect", argv: inspectContextArgv("docker", "den-vm"), expected: ["docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}", "den-vm"] },
  {
    name: "create",
    argv: createContextArgv("/usr/bin/docker", { context: "den-vm", instance: "vm", socket: "/d/vm/sock/docker.sock" }),
    expected: ["/usr/bin/docker", "context", "create", "--description", "den instance vm", "--docker", "host=unix:///d/vm/sock/docker.sock", "den-vm"],
  },
  {
    name: "update",
    argv: updateContextArgv("docker", { context: "den-vm", socket: "/e/vm/sock/docker.sock" }),
    expected: ["docker", "context", "update", "--docker", "host=unix:///e/vm/sock/docker.sock", "den-vm"],
  },
])("the $name command line never switches the current context", ({ argv, expected }) => {
  expect(argv).toEqual(expected);
  expect(argv).not.toContain("use");
});

test("dockerContextName() prefixes den-", () => {
  expect(dockerContextName("default")).toBe("den-default");
});
