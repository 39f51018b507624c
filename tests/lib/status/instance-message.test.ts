import { expect, test } from "bun:test";
import type { InstanceInfo } from "../../../lib/status/instance-info.ts";
import { instanceMessage } from "../../../lib/status/instance-message.ts";
import { caughtDenError } from "../../support/caught-den-error.ts";

const host = { hostOS: "linux", hostArch: "x86_64", denHome: "/home/u/.den", identityFile: "/home/u/.den/_config/user" };
const info = (message: string, extra: Partial<InstanceInfo> = {}): InstanceInfo => ({
  name: "docker",
  hostname: "den-docker",
  status: "Running",
  dir: "/home/u/.den/docker",
  sshConfigFile: "/home/u/.den/docker/ssh.config",
  sshAddress: "127.0.0.1",
  sshLocalPort: 60022,
  message,
  param: { containerdSnapshotter: "true" },
  ...extra,
});

test.each([
  {
    name: "the docker template's message",
    message: 'docker context create den-{{.Name}} --docker "host=unix://{{.Dir}}/sock/docker.sock"\n',
    text: 'docker context create den-docker --docker "host=unix:///home/u/.den/docker/sock/docker.sock"\n',
  },
  { name: "the same fields through .Instance", message: "{{.Instance.Dir}} {{.Instance.SSHLocalPort}}", text: "/home/u/.den/docker 60022" },
  { name: "params and host facts", message: "{{.Param.containerdSnapshotter}} {{.HostOS}}/{{.HostArch}} {{.LimaHome}}", text: "true linux/x86_64 /home/u/.den" },
  { name: "a missing key as Go prints it", message: "{{.Param.nope}}", text: "<no value>" },
  { name: "control characters made harmless", message: "a\u001b[2Jb\tc", text: "a?[2Jb\tc" },
])("instanceMessage() expands $name", ({ message, text }) => {
  expect(instanceMessage(info(message), host)).toBe(text);
});

test.each([{ message: "" }, { message: "  \n" }])("instanceMessage() has nothing to show for $message", ({ message }) => {
  expect(instanceMessage(info(message), host)).toBeUndefined();
});

test("instanceMessage() names the field of a broken template", () => {
  expect(caughtDenError(() => instanceMessage(info("{{.Name"), host)).message).toStartWith("Cannot expand template in message");
});
