import { describe, expect, test } from "bun:test";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseSocksPort, renderTunnelInstructions, tunnelSshArgv } from "../../../lib/cli/tunnel.ts";
import { DenError } from "../../../lib/errors.ts";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";
import { fakeSshBin, makeRunningInstance } from "./support/running-instance.ts";

describe("parseSocksPort()", () => {
  test.each([
    { text: undefined, want: 0 },
    { text: "0", want: 0 },
    { text: "1024", want: 1024 },
    { text: "65535", want: 65535 },
  ])("reads $text", ({ text, want }) => {
    expect(parseSocksPort(text)).toBe(want);
  });

  test.each([{ text: "80" }, { text: "65536" }, { text: "-1" }, { text: "1080x" }, { text: "" }])("refuses $text", ({ text }) => {
    expect(() => parseSocksPort(text)).toThrow(DenError);
  });
});

test("tunnelSshArgv() runs ssh in the background with a dynamic forward, as limactl tunnel does", () => {
  const argv = tunnelSshArgv([["User", "u"]], { ssh: ["ssh", "-v"], socksPort: 1080, sshPort: 60022 });
  expect(argv).toEqual(["ssh", "-v", "-F", "/dev/null", "-o", "User=u", "-q", "-f", "-N", "-D", "127.0.0.1:1080", "-p", "60022", "127.0.0.1"]);
});

test.each([
  { platform: "linux", first: "Set `ALL_PROXY=socks5h://127.0.0.1:1080`, etc." },
  { platform: "darwin", first: "Open <System Settings> → <Network> → <Wi-Fi> (or whatever) → <Details> → <Proxies> → <SOCKS proxy>," },
  { platform: "win32", first: "Open <Settings> → <Network & Internet> → <Proxy>," },
])("renderTunnelInstructions() words it for $platform as Lima does", ({ platform, first }) => {
  const lines = renderTunnelInstructions(platform, 1080).split("\n");
  expect(lines[0]).toBe(first);
  expect(lines).toContain("The instance can be connected from the host as <http://localhost> via a web browser or e.g. `curl --socks5-hostname 127.0.0.1:1080 http://localhost:PORT`.");
});

describe("den tunnel", () => {
  test("refuses a stopped instance with a hint", async () => {
    const denHome = await makeDenHome();
    await makeInstance(denHome, "vm");
    const run = await runDen(["tunnel", "vm"], { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('Cannot connect to instance "vm": it is Stopped, not Running');
    expect(run.stderr).toContain("hint: start it: den start vm");
  });

  test("reports a failing ssh with its status", async () => {
    const denHome = await makeDenHome();
    await using _vm = await makeRunningInstance(denHome, "vm", { port: 41022 });
    const bin = await fakeSshBin(denHome);
    const run = await runDen(["tunnel", "--socks-port", "1080", "vm"], { denHome, env: { PATH: `${bin}:${process.env.PATH}`, FAKE_EXIT: "255" } });
    expect(run.exitCode).toBe(1);
    expect(await readFile(join(denHome, "vm", "tunnel.log"), "utf8")).toContain("-D\n127.0.0.1:1080\n-p\n41022\n127.0.0.1");
    expect(run.stderr).toContain("Cannot open the tunnel: ssh exited with status 255: -p; 41022; 127.0.0.1");
    expect(run.stderr).toContain(`hint: see ${join(denHome, "vm", "tunnel.log")}`);
  });

  test("returns once ssh is in the background, whose output never holds den's own open", async () => {
    const denHome = await makeDenHome();
    await using _vm = await makeRunningInstance(denHome, "vm", { port: 41022 });
    const bin = join(denHome, "_tunnelbin");
    await mkdir(bin, { recursive: true });
    // As ssh -f does: a child that stays (here 30 s, listening on the SOCKS port) with the parent's stdout and stderr.
    const listen = "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(30)";
    await writeFile(
      join(bin, "ssh"),
      `#!/bin/sh\nif [ "$1" = "-V" ]; then echo "OpenSSH_9.6p1" >&2; exit 0; fi\nfor arg in "$@"; do case "$arg" in 127.0.0.1:*) port="\${arg#127.0.0.1:}" ;; esac; done\necho "ssh going to the background"\npython3 -c "${listen}" "$port" &\nexit 0\n`,
    );
    await chmod(join(bin, "ssh"), 0o755);
    const started = Date.now();
    const run = await runDen(["tunnel", "--socks-port", "18087", "vm"], { denHome, env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain("socks5h://127.0.0.1:18087");
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await readFile(join(denHome, "vm", "tunnel.log"), "utf8")).toContain("ssh going to the background");
  }, 20_000);

  test("refuses a privileged --socks-port before doing anything", async () => {
    const denHome = await makeDenHome();
    const run = await runDen(["tunnel", "--socks-port", "80", "vm"], { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('Cannot use --socks-port "80"');
  });
});
