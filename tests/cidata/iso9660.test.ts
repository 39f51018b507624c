// cidata/iso9660.ts checked against real readers: isoinfo and isovfy (genisoimage) and xorriso (libisofs).
// The Linux kernel's own isofs parser is not exercised here: this sandbox's kernel has no iso9660 driver, so a
// loop mount fails with "unknown filesystem type".
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type IsoEntry,
  type IsoOptions,
  jolietSpelling,
  planIso9660,
  writeIso9660,
  writeIso9660ToFile,
} from "../../cidata/iso9660.ts";
import { caughtDenError, rejectedDenError } from "../support/caught-den-error.ts";
import { DEFAULT_PROPERTY_SEED, modeString, parseIsoinfoListing, runIsoPropertyCheck, seededRandom, treeFromEntries, verifyTrees } from "./iso9660-property.ts";

let work = "";
beforeAll(async () => {
  for (const tool of ["isoinfo", "isovfy", "xorriso"]) {
    if (!Bun.which(tool)) throw new Error(`${tool} is missing: run scripts/setup.sh (apt-get install -y genisoimage xorriso)`);
  }
  work = await mkdtemp(join(tmpdir(), "den-iso-test-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function run(argv: string[]): { stdout: string; stderr: string; exitCode: number } {
  const child = Bun.spawnSync(argv, { env: { ...process.env, LC_ALL: "C.UTF-8" } });
  return { stdout: child.stdout.toString(), stderr: child.stderr.toString(), exitCode: child.exitCode };
}

function randomBytes(size: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length: size }, () => Math.floor(random() * 256));
}

function streamOf(bytes: Uint8Array, chunk: number): () => ReadableStream<Uint8Array> {
  return () =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += chunk) controller.enqueue(bytes.slice(at, at + chunk));
        controller.close();
      },
    });
}

async function collect(entries: IsoEntry[], options?: IsoOptions): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of writeIso9660(entries, options)) chunks.push(chunk.slice());
  return Buffer.concat(chunks);
}

// A seed shaped like Lima's: the cloud-init files, scripts, a deep folder, long names, links, an empty folder.
const LONG = "a-very-long-file-name-that-uses-all-sixty-four-joliet-chars.yaml";
const DEEP = "d1/d2/d3/d4/d5/d6/d7/deepest.sh";
const agent = randomBytes(300_000, 7);
const files: { path: string; mode?: number; bytes: Uint8Array; as: "string" | "bytes" | "stream" }[] = [
  { path: "user-data", bytes: new TextEncoder().encode("#cloud-config\ngrowpart:\n  mode: auto\n"), as: "string" },
  { path: "meta-data", bytes: new TextEncoder().encode("instance-id: iid-1\nlocal-hostname: lima-default\n"), as: "string" },
  { path: "network-config", bytes: new TextEncoder().encode("version: 2\nethernets: {}\n"), as: "bytes" },
  { path: "lima.env", bytes: new TextEncoder().encode("LIMA_CIDATA_NAME=default\n"), as: "bytes" },
  { path: "param.env", bytes: new Uint8Array(0), as: "bytes" },
  { path: "boot.sh", mode: 0o755, bytes: new TextEncoder().encode("#!/bin/sh\nexit 0\n"), as: "string" },
  { path: "boot.Linux/00-modprobe.sh", mode: 0o755, bytes: new TextEncoder().encode("#!/bin/sh\n"), as: "string" },
  { path: "boot.Linux/05-lima-mounts.sh", mode: 0o755, bytes: new TextEncoder().encode("#!/bin/sh\n# mounts\n"), as: "string" },
  { path: "util/compare_version.sh", mode: 0o755, bytes: new TextEncoder().encode("#!/bin/sh\n"), as: "string" },
  { path: "provision.system/00000000", mode: 0o700, bytes: new TextEncoder().encode("#!/bin/sh\necho hi\n"), as: "string" },
  { path: `data/${LONG}`, mode: 0o600, bytes: randomBytes(5000, 1), as: "bytes" },
  { path: DEEP, mode: 0o755, bytes: new TextEncoder().encode("#!/bin/sh\n"), as: "string" },
  { path: "lima-guestagent", mode: 0o755, bytes: agent, as: "stream" },
];
const seedEntries: IsoEntry[] = [
  ...files.map((file): IsoEntry => {
    const source = file.as === "string" ? () => new TextDecoder().decode(file.bytes) : file.as === "bytes" ? () => file.bytes : streamOf(file.bytes, 65536);
    return { path: file.path, kind: "file", size: file.bytes.length, source, ...(file.mode === undefined ? {} : { mode: file.mode }) };
  }),
  { path: "empty", kind: "dir", mode: 0o700 },
  { path: "boot.Linux", kind: "dir", mode: 0o750 },
  { path: "util/compare", kind: "symlink", target: "compare_version.sh" },
  { path: "etc-hosts", kind: "symlink", target: "/etc/hosts" },
  { path: "up", kind: "symlink", target: "../util/./compare_version.sh" },
  // Long enough for several SL entries and a Rock Ridge continuation area.
  { path: "far", kind: "symlink", target: `/${"x".repeat(200)}/${"y".repeat(300)}/${"z".repeat(150)}` },
  // The longest target, in one-letter parts: the most Rock Ridge data one record can carry.
  { path: "farther", kind: "symlink", target: `${"a/".repeat(511)}b` },
];
const seedContents = new Map(files.map((file) => [file.path, file.bytes]));

describe("writeIso9660ToFile() on a cidata seed", () => {
  let iso = "";
  beforeAll(async () => {
    iso = join(work, "seed.iso");
    await writeIso9660ToFile(seedEntries, iso);
  });

  test("isoinfo -d finds the volume id, Joliet level 3 and Rock Ridge", () => {
    const { stdout } = run(["isoinfo", "-d", "-i", iso]);
    expect(stdout).toContain("Volume id: cidata\n");
    expect(stdout).toContain("Joliet with UCS level 3 found");
    expect(stdout).toContain("Rock Ridge signatures version 1 found");
    expect(stdout).toContain("Logical block size is: 2048");
  });

  test("isovfy finds no structural error", async () => {
    // isovfy overflows a buffer (segfault) on symlink data near 1 KiB, also on images genisoimage itself writes.
    const checked = join(work, "isovfy.iso");
    await writeIso9660ToFile(seedEntries.filter((entry) => entry.path !== "farther"), checked);
    const { stdout, exitCode } = run(["isovfy", "-i", checked]);
    expect(exitCode).toBe(0);
    expect(stdout).toContain("No errors found");
  });

  const listed = () => parseIsoinfoListing(run(["isoinfo", "-R", "-l", "-i", iso]).stdout);
  test.each(files.map((file) => ({ path: file.path, mode: modeString("file", file.mode ?? 0o644), size: file.bytes.length })))(
    "isoinfo -l -R lists $path as $mode with $size bytes",
    ({ path, mode, size }) => {
      expect(listed().get(path)).toEqual({ mode, size, target: undefined });
    },
  );

  test.each([
    { path: "empty", mode: "drwx------" },
    { path: "boot.Linux", mode: "drwxr-x---" },
    { path: "d1/d2/d3/d4/d5/d6/d7", mode: "drwxr-xr-x" },
    { path: "provision.system", mode: "drwxr-xr-x" },
  ])("isoinfo -l -R lists the folder $path as $mode", ({ path, mode }) => {
    expect(listed().get(path)?.mode).toBe(mode);
  });

  test.each(seedEntries.filter((entry) => entry.kind === "symlink").map((entry) => ({ path: entry.path, target: entry.target })))(
    "isoinfo -l -R shows the symlink $path",
    ({ path, target }) => {
      expect(listed().get(path)).toMatchObject({ mode: "lrwxrwxrwx", target });
    },
  );

  test.each(files.map((file) => ({ path: file.path, bytes: file.bytes })))("isoinfo -R -x extracts $path byte for byte", ({ path, bytes }) => {
    const child = Bun.spawnSync(["isoinfo", "-R", "-x", `/${path}`, "-i", iso]);
    expect(Buffer.from(child.stdout).equals(Buffer.from(bytes))).toBe(true);
  });

  test("isoinfo -l -J lists the real names and no symlinks", () => {
    const joliet = parseIsoinfoListing(run(["isoinfo", "-J", "-l", "-i", iso]).stdout);
    const want = [...treeFromEntries(0, seedEntries, seedContents).expected].filter(([, entry]) => entry.kind !== "symlink").map(([path]) => path);
    expect([...joliet.keys()].sort()).toEqual(want.sort());
    expect(joliet.get("lima-guestagent")?.size).toBe(agent.length);
  });

  test("isoinfo -J -x extracts the agent byte for byte", () => {
    const child = Bun.spawnSync(["isoinfo", "-J", "-x", "/lima-guestagent", "-i", iso]);
    expect(Buffer.from(child.stdout).equals(Buffer.from(agent))).toBe(true);
  });

  test("isoinfo -l without extensions shows ISO9660 level 2 names", () => {
    const plain = parseIsoinfoListing(run(["isoinfo", "-l", "-i", iso]).stdout);
    expect([...plain.keys()]).toEqual(
      expect.arrayContaining(["USER_DATA.;1", "META_DATA.;1", "NETWORK_CONFIG.;1", "BOOT.SH;1", "BOOT_LINUX/00_MODPROBE.SH;1", "DATA/A_VERY_LONG_FILE_NAME_THA.YAML;1"]),
    );
  });

  test("xorriso extracts every name, mode, symlink target and byte through Rock Ridge and Joliet", async () => {
    const dir = join(work, "seed-verify");
    await rm(dir, { recursive: true, force: true });
    await Bun.write(join(dir, ".keep"), "");
    expect(await verifyTrees([treeFromEntries(0, seedEntries, seedContents)], dir)).toEqual([]);
  });
});

describe("writeIso9660()", () => {
  test("gives the same bytes for the same input", async () => {
    const first = await collect(seedEntries);
    const second = await collect(seedEntries);
    expect(Buffer.from(first).equals(Buffer.from(second))).toBe(true);
  });

  test("gives the same bytes whatever the entry order", async () => {
    const reversed = await collect([...seedEntries].reverse());
    expect(Buffer.from(reversed).equals(Buffer.from(await collect(seedEntries)))).toBe(true);
  });

  test("records the given timestamp and changes the bytes with it", async () => {
    const timestamp = new Date(Date.UTC(2024, 2, 15, 12, 30, 45));
    const bytes = await collect(seedEntries, { timestamp });
    expect(Buffer.from(bytes).equals(Buffer.from(await collect(seedEntries)))).toBe(false);
    const iso = join(work, "dated.iso");
    await writeFile(iso, bytes);
    expect(run(["isoinfo", "-R", "-l", "-i", iso]).stdout).toContain("Mar 15 2024");
    expect(run(["isoinfo", "-d", "-i", iso]).stdout).not.toContain("1970");
  });

  test.each([{ volumeId: "cidata" }, { volumeId: "autounattend" }, { volumeId: "CIDATA" }])("writes the volume id $volumeId", async ({ volumeId }) => {
    const iso = join(work, `label-${volumeId}.iso`);
    await writeIso9660ToFile([{ path: "meta-data", kind: "file", size: 0, source: () => "" }], iso, { volumeId });
    expect(run(["isoinfo", "-d", "-i", iso]).stdout).toContain(`Volume id: ${volumeId}\n`);
    // The Joliet copy is the one blkid prefers; xorriso reports it as the volume id of the loaded tree.
    expect(run(["xorriso", "-read_fs", "norock", "-indev", iso]).stderr).toContain(`Volume id    : '${volumeId}'`);
  });

  test("yields exactly the planned size and reads each source once, only while writing", async () => {
    const calls: string[] = [];
    const entries: IsoEntry[] = seedEntries.map((entry) =>
      entry.kind === "file" ? { ...entry, source: () => (calls.push(entry.path), entry.source()) } : entry,
    );
    const plan = planIso9660(entries);
    expect(calls).toEqual([]);
    let total = 0;
    for await (const chunk of writeIso9660(entries)) total += chunk.byteLength;
    expect(total).toBe(plan.totalBytes);
    expect(total % 2048).toBe(0);
    expect(calls.sort()).toEqual(files.map((file) => file.path).sort());
  });

  test("spells Joliet names for UCS-2 and keeps them unique", async () => {
    const iso = join(work, "joliet.iso");
    const entries: IsoEntry[] = ["a:b", "a_b", "q?.txt", "x😀y"].map((path) => ({ path, kind: "file", size: 1, source: () => "x" }));
    await writeIso9660ToFile(entries, iso);
    const joliet = parseIsoinfoListing(run(["isoinfo", "-J", "-l", "-i", iso]).stdout);
    expect([...joliet.keys()].sort()).toEqual(["a_b", "a_b_1", "q_.txt", "x_y"]);
    const rock = parseIsoinfoListing(run(["isoinfo", "-R", "-l", "-i", iso]).stdout);
    expect([...rock.keys()].sort()).toEqual(["a:b", "a_b", "q?.txt", "x😀y"]);
  });

  test.each([
    { name: "user-data", want: "user-data" },
    { name: "a*b:c;d?e\\f", want: "a_b_c_d_e_f" },
    { name: "日本😀", want: "日本_" },
  ])("jolietSpelling() maps $name to $want", ({ name, want }) => {
    expect(jolietSpelling(name)).toBe(want);
  });

  test("keeps primary names unique when two names map to the same d-characters", async () => {
    const iso = join(work, "primary.iso");
    const entries: IsoEntry[] = ["a-b", "a_b", "A.B", "a.b"].map((path) => ({ path, kind: "file", size: 1, source: () => "x" }));
    await writeIso9660ToFile(entries, iso);
    const plain = [...parseIsoinfoListing(run(["isoinfo", "-l", "-i", iso]).stdout).keys()];
    expect(new Set(plain).size).toBe(4);
    expect(plain.sort()).toEqual(["A.B;1", "A_B.;1", "A_B_1.;1", "A_1.B;1"].sort());
  });
});

describe("planIso9660() limits", () => {
  const file = (path: string, size = 1): IsoEntry => ({ path, kind: "file", size, source: () => "x" });
  test.each([
    { name: "an empty path", entries: [file("")], want: /empty name/ },
    { name: "a leading slash", entries: [file("/user-data")], want: /"\/user-data".*empty name/ },
    { name: "a trailing slash", entries: [{ path: "boot/", kind: "dir" } as IsoEntry], want: /empty name/ },
    { name: "a doubled slash", entries: [file("boot//a.sh")], want: /empty name/ },
    { name: "a dot part", entries: [file("boot/./a.sh")], want: /name "\." is reserved/ },
    { name: "a dot-dot part", entries: [file("../a.sh")], want: /name "\.\." is reserved/ },
    { name: "a NUL", entries: [file("a\0b")], want: /control character or NUL/ },
    { name: "a newline", entries: [file("a\nb")], want: /control character/ },
    { name: "a lone surrogate", entries: [file("a\ud800b")], want: /unpaired UTF-16 surrogate/ },
    { name: "a 65-character name", entries: [file("x".repeat(65))], want: /longer than 64 characters \(Joliet limit\)/ },
    { name: "a 256-byte name", entries: [file("日".repeat(86))], want: /longer than 255 bytes \(Rock Ridge limit\)/ },
    { name: "a file 9 levels deep", entries: [file("1/2/3/4/5/6/7/8/f")], want: /needs 9 directory levels, ISO9660 allows 8/ },
    { name: "a folder 9 levels deep", entries: [{ path: "1/2/3/4/5/6/7/8", kind: "dir" } as IsoEntry], want: /needs 9 directory levels/ },
    { name: "a 4 GiB file", entries: [file("big", 2 ** 32)], want: /4294967296 bytes, a single ISO9660 extent holds at most 4294967295/ },
    { name: "a negative size", entries: [file("f", -1)], want: /size -1 is not a byte count/ },
    { name: "a fractional size", entries: [file("f", 1.5)], want: /size 1.5 is not a byte count/ },
    { name: "a mode with type bits", entries: [{ ...file("f"), mode: 0o100644 } as IsoEntry], want: /mode 0o100644 is not a permission mode/ },
    { name: "a path listed twice", entries: [file("a"), file("a")], want: /"a".*listed twice/ },
    { name: "a folder listed twice", entries: [{ path: "d", kind: "dir" }, { path: "d", kind: "dir" }] as IsoEntry[], want: /listed twice/ },
    { name: "a file used as a folder", entries: [file("a"), file("a/b")], want: /"a\/b".*"a" is a file, not a directory/ },
    { name: "a folder given as a file", entries: [file("a/b"), file("a")], want: /"a".*both a dir and a file/ },
    { name: "an empty symlink target", entries: [{ path: "l", kind: "symlink", target: "" }] as IsoEntry[], want: /target is empty/ },
    { name: "a 1024-byte symlink target", entries: [{ path: "l", kind: "symlink", target: "t".repeat(1024) }] as IsoEntry[], want: /longer than 1023 bytes/ },
    { name: "an image over 2^32 sectors", entries: Array.from({ length: 2049 }, (_, i) => file(`f${i}`, 2 ** 32 - 1)), want: /exceed 4294967295 sectors/ },
    { name: "65536 folders", entries: Array.from({ length: 65535 }, (_, i) => ({ path: `d${i}`, kind: "dir" }) as IsoEntry), want: /65536 directories, ISO9660 path tables allow 65535/ },
  ])("rejects $name", ({ entries, want }) => {
    const error = caughtDenError(() => planIso9660(entries));
    expect(error.code).toBe("ISO_LIMIT");
    expect(error.message).toMatch(want);
    expect(error.hint).toBeTruthy();
  });

  test.each([
    { name: "an empty volume id", options: { volumeId: "" }, want: /volume id "" must be 1 to 16 characters/ },
    { name: "a 17-character volume id", options: { volumeId: "abcdefghijklmnopq" }, want: /must be 1 to 16/ },
    { name: "a volume id with a space", options: { volumeId: "ci data" }, want: /must be 1 to 16/ },
    { name: "a timestamp before 1900", options: { timestamp: new Date(Date.UTC(1899, 11, 31)) }, want: /outside 1900 to 2155/ },
    { name: "an invalid timestamp", options: { timestamp: new Date(Number.NaN) }, want: /outside 1900 to 2155/ },
  ])("rejects $name", ({ options, want }) => {
    expect(() => planIso9660([file("meta-data")], options)).toThrow(want);
  });

  test("names the path and the limit in the message", () => {
    expect(() => planIso9660([file(`boot/${"n".repeat(65)}`)])).toThrow(
      `Cannot add "boot/${"n".repeat(65)}" to the ISO image: the name "${"n".repeat(65)}" is longer than 64 characters (Joliet limit)`,
    );
  });

  test("accepts a file at the deepest level and a 64-character unicode name", () => {
    expect(() => planIso9660([file("1/2/3/4/5/6/7/f"), file("ü".repeat(64)), { path: "1/2/3/4/5/6/7", kind: "dir" }])).not.toThrow();
  });
});

describe("writeIso9660ToFile() failures", () => {
  test.each([
    { name: "fewer bytes than declared", size: 10, source: () => "short", want: /source gave 5 bytes, declared size is 10/ },
    { name: "more bytes than declared", size: 3, source: () => "too long", want: /source gave more than 3 bytes, declared size is 3/ },
    { name: "a stream longer than declared", size: 100, source: streamOf(new Uint8Array(1000), 64), want: /gave more than 100 bytes/ },
    {
      name: "a stream that fails",
      size: 10,
      source: () =>
        new ReadableStream<Uint8Array>({
          pull() {
            throw new Error("disk on fire");
          },
        }),
      want: /Cannot read "boot\/x.sh" for the ISO image: disk on fire/,
    },
  ])("reports $name, keeps the old image and leaves no temporary file", async ({ size, source, want }) => {
    const dir = await mkdtemp(join(work, "fail-"));
    const iso = join(dir, "cidata.iso");
    await writeFile(iso, "old image");
    const entries: IsoEntry[] = [file("meta-data"), { path: "boot/x.sh", kind: "file", size, source }];
    const error = await rejectedDenError(writeIso9660ToFile(entries, iso));
    expect(error.code).toBe("IO");
    expect(error.message).toMatch(want);
    expect(await readdir(dir)).toEqual(["cidata.iso"]);
    expect(await readFile(iso, "utf8")).toBe("old image");
  });

  test("replaces an existing image in one rename", async () => {
    const dir = await mkdtemp(join(work, "replace-"));
    const iso = join(dir, "cidata.iso");
    await writeFile(iso, "old image");
    const result = await writeIso9660ToFile([file("meta-data")], iso);
    expect(await readdir(dir)).toEqual(["cidata.iso"]);
    expect((await readFile(iso)).length).toBe(result.bytes);
  });

  test("reports a folder that cannot be written as an IO error", async () => {
    const error = await rejectedDenError(writeIso9660ToFile([file("meta-data")], join(work, "no-such-dir", "cidata.iso")));
    expect(error.code).toBe("IO");
    expect(error.message).toContain("Cannot create ISO image");
  });

  function file(path: string): IsoEntry {
    return { path, kind: "file", size: 1, source: () => "x" };
  }
});

const propertyTrees = Number(process.env.DEN_ISO_PROPERTY_TREES ?? 500);
test(
  `${propertyTrees} random trees read back identically through xorriso and isoinfo`,
  async () => {
    const summary = await runIsoPropertyCheck({ trees: propertyTrees, workDir: join(work, "property"), seed: DEFAULT_PROPERTY_SEED });
    expect(summary.trees).toBe(propertyTrees);
    expect(summary.mismatches).toEqual([]);
  },
  { timeout: 300_000 },
);
