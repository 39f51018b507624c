import { expect, test } from "bun:test";
import { autostartPlan } from "../../../lib/autostart/autostart-plan.ts";
import { DenError } from "../../../lib/errors.ts";

const params = { instance: "vm", command: ["/bin/den"], denHome: "/h/.den", instanceDir: "/h/.den/vm" };

test.each([
  {
    name: "Linux: a user unit under XDG_CONFIG_HOME, reloaded and enabled with systemctl --user",
    host: { platform: "linux", env: { HOME: "/h", XDG_CONFIG_HOME: "/cfg" }, uid: 1000 },
    want: {
      path: "/cfg/systemd/user/den-vm.service",
      manager: "systemctl",
      enable: [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "den-vm.service"]],
      disable: [["systemctl", "--user", "disable", "den-vm.service"]],
      afterRemove: [["systemctl", "--user", "daemon-reload"]],
    },
  },
  {
    name: "Linux without XDG_CONFIG_HOME: ~/.config",
    host: { platform: "linux", env: { HOME: "/h" }, uid: 1000 },
    want: { path: "/h/.config/systemd/user/den-vm.service" },
  },
  {
    name: "macOS: a launch agent enabled in the gui/UID domain",
    host: { platform: "darwin", env: { HOME: "/Users/u" }, uid: 501 },
    want: {
      path: "/Users/u/Library/LaunchAgents/io.den.autostart.vm.plist",
      manager: "launchctl",
      enable: [["launchctl", "enable", "gui/501/io.den.autostart.vm"]],
      disable: [["launchctl", "disable", "gui/501/io.den.autostart.vm"]],
      afterRemove: [],
    },
  },
])("autostartPlan() $name", ({ host, want }) => {
  expect(autostartPlan(host, params)).toMatchObject(want);
});

test("autostartPlan() refuses a host with neither systemd nor launchd", () => {
  expect(() => autostartPlan({ platform: "win32", env: { HOME: "C:/u" }, uid: 0 }, params)).toThrow(DenError);
});
