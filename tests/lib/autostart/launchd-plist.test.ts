import { expect, test } from "bun:test";
import { launchdLabel, renderLaunchdPlist } from "../../../lib/autostart/launchd-plist.ts";
import { DenError } from "../../../lib/errors.ts";

test.each([
  {
    name: "runs den start NAME --foreground at load, in the instance folder, with DEN_HOME",
    params: { instance: "vm", command: ["/usr/local/bin/den"], denHome: "/Users/u/.den", instanceDir: "/Users/u/.den/vm" },
    contains: [
      "<string>io.den.autostart.vm</string>",
      "\t\t<string>/usr/local/bin/den</string>\n\t\t<string>start</string>\n\t\t<string>vm</string>\n\t\t<string>--foreground</string>",
      "<key>RunAtLoad</key>\n\t<true/>",
      "<key>DEN_HOME</key>\n\t\t<string>/Users/u/.den</string>",
      "<key>StandardErrorPath</key>\n\t<string>/Users/u/.den/vm/launchd.stderr.log</string>",
      "<key>WorkingDirectory</key>\n\t<string>/Users/u/.den/vm</string>",
    ],
  },
  {
    name: "escapes XML in paths",
    params: { instance: "vm", command: ["/A&B/<den>"], denHome: "/h's", instanceDir: "/h/vm" },
    contains: ["<string>/A&amp;B/&lt;den&gt;</string>", "<string>/h&apos;s</string>"],
  },
])("renderLaunchdPlist() $name", ({ params, contains }) => {
  const text = renderLaunchdPlist(params);
  expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist')).toBe(true);
  for (const part of contains) expect(text).toContain(part);
});

test("renderLaunchdPlist() refuses a control character XML cannot hold", () => {
  expect(() => renderLaunchdPlist({ instance: "vm", command: ["/a\x01"], denHome: "/d", instanceDir: "/d/vm" })).toThrow(DenError);
});

test("launchdLabel() follows Lima's io.lima-vm.autostart.NAME with den's prefix", () => {
  expect(launchdLabel("vm")).toBe("io.den.autostart.vm");
});
