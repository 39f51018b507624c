import { describe, expect, test } from "bun:test";
import type { IsoFileEntry } from "../../cidata/iso9660.ts";
import { planIso9660 } from "../../cidata/iso9660.ts";
import { seedLayout } from "../../cidata/seed-layout.ts";
import { userData } from "../../cidata/user-data.ts";
import { ConfigError } from "../../lib/errors.ts";
import { argsFor } from "./seed-fixture.ts";

function file(path: string, text: string, mode = 0o755): IsoFileEntry {
  const bytes = new TextEncoder().encode(text);
  return { path, kind: "file", mode, size: bytes.byteLength, source: () => bytes };
}

const bootScripts = [file("boot.sh", "#!/bin/bash\n"), file("boot/essential/00-a.sh", "#!/bin/sh\n"), file("boot/linux/10-b.sh", "#!/bin/sh\n")];
const guestAgent = [file("den-guestagent.js", "console.log(1)", 0o644), file("den-guestagent.runtime", `${"a".repeat(64)} linux-x64 1.4.5\n`, 0o644)];
const args = argsFor({
  provision: [{ script: "echo s" }, { mode: "user", script: "echo u" }, { mode: "data", path: "/etc/d", content: "d" }, { mode: "yq", path: "/etc/y", expression: ".a" }, { mode: "dependency", script: "echo dep" }],
});

async function text(entry: IsoFileEntry): Promise<string> {
  const source = entry.source();
  return typeof source === "string" ? source : new TextDecoder().decode(source as Uint8Array);
}

describe("seedLayout()", () => {
  const layout = seedLayout(args, { bootScripts, guestAgent });
  const byPath = new Map(layout.map((entry) => [entry.path, entry as IsoFileEntry]));

  test.each([
    { path: "meta-data", mode: 0o644 },
    { path: "user-data", mode: 0o644 },
    { path: "network-config", mode: 0o644 },
    { path: "den.env", mode: 0o644 },
    { path: "param.env", mode: 0o644 },
    { path: "etc_environment", mode: 0o644 },
    { path: "boot.sh", mode: 0o755 },
    { path: "boot/essential/00-a.sh", mode: 0o755 },
    { path: "boot/linux/10-b.sh", mode: 0o755 },
    { path: "provision.system/00000000", mode: 0o755 },
    { path: "provision.user/00000001", mode: 0o755 },
    { path: "provision.data/00000002", mode: 0o644 },
    { path: "provision.yq/00000003", mode: 0o644 },
    { path: "provision.dependency/00000004", mode: 0o755 },
    { path: "den-guestagent.js", mode: 0o644 },
    { path: "den-guestagent.runtime", mode: 0o644 },
  ])("seedLayout() holds $path with mode $mode", ({ path, mode }) => {
    expect(byPath.get(path)?.mode).toBe(mode);
  });

  test("seedLayout() holds nothing else", () => {
    expect(layout).toHaveLength(16);
  });

  test("seedLayout() declares each file's size as its UTF-8 byte count", async () => {
    for (const entry of layout as IsoFileEntry[]) {
      const source = entry.source();
      const bytes = typeof source === "string" ? new TextEncoder().encode(source) : (source as Uint8Array);
      expect(bytes.byteLength).toBe(entry.size);
    }
  });

  test("seedLayout() renders user-data from the args", async () => {
    expect(await text(byPath.get("user-data")!)).toBe(userData(args));
  });

  test("seedLayout() sizes a unicode file by bytes", () => {
    const unicode = seedLayout(argsFor({ user: { comment: "東京 😀" } }), { bootScripts });
    const denEnv = unicode.find((entry) => entry.path === "den.env") as IsoFileEntry;
    expect(denEnv.size).toBe(new TextEncoder().encode(new TextDecoder().decode(denEnv.source() as Uint8Array)).byteLength);
    expect(denEnv.size).toBeGreaterThan(new TextDecoder().decode(denEnv.source() as Uint8Array).length);
  });

  test.each([
    { plain: false, included: true },
    { plain: true, included: false },
  ])("seedLayout() includes the guest agent when plain is $plain: $included", ({ plain, included }) => {
    const paths = seedLayout(argsFor({ plain }), { bootScripts, guestAgent }).map((entry) => entry.path);
    expect({ bundle: paths.includes("den-guestagent.js"), runtime: paths.includes("den-guestagent.runtime") }).toEqual({ bundle: included, runtime: included });
  });

  test("seedLayout() leaves the guest agent out when none is given", () => {
    expect(seedLayout(args, { bootScripts }).map((entry) => entry.path).filter((path) => path.startsWith("den-guestagent"))).toEqual([]);
  });

  test("seedLayout() fails with the ConfigError of a file it cannot render", () => {
    expect(() => seedLayout(argsFor({ env: { A: "two\nlines" } }), { bootScripts })).toThrow(ConfigError);
  });

  test("seedLayout() is a layout the ISO writer accepts", () => {
    expect(planIso9660(layout, { volumeId: "cidata" }).files).toHaveLength(16);
  });
});
