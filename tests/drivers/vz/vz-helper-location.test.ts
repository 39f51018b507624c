import { afterAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findVzHelper, hasEntitlement, readVzHelperFacts, type EmbeddedVzHelper, type VzHelperLocationContext, vzHelperPath } from "../../../drivers/vz/vz-helper-location.ts";
import { DenError } from "../../../lib/errors.ts";

const root = mkdtempSync(join(tmpdir(), "den-vz-helper-location-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A fresh folder with den's executable in bin/ and DEN_HOME in home/. */
function layout(options: { beside?: "executable" | "plain" } = {}) {
  const dir = join(root, String(counter++));
  mkdirSync(join(dir, "bin"), { recursive: true });
  const execPath = join(dir, "bin", "den");
  writeFileSync(execPath, "den");
  if (options.beside) {
    writeFileSync(join(dir, "bin", "den-vz-helper"), "helper");
    chmodSync(join(dir, "bin", "den-vz-helper"), options.beside === "executable" ? 0o755 : 0o644);
  }
  const standIn = join(dir, "standin");
  writeFileSync(standIn, "#!/bin/sh\n");
  chmodSync(standIn, 0o755);
  const plain = join(dir, "plain");
  writeFileSync(plain, "not executable");
  return { dir, execPath, denHome: join(dir, "home"), standIn, plain };
}

function embeddedOf(text: string, sha256 = createHash("sha256").update(text).digest("hex")): EmbeddedVzHelper & { reads: number } {
  const helper = {
    reads: 0,
    sha256,
    bytes: async () => {
      helper.reads++;
      return new TextEncoder().encode(text);
    },
  };
  return helper;
}

const helperBytes = "#!/bin/sh\necho den-vz-helper\n";
const helperSha = createHash("sha256").update(helperBytes).digest("hex");

test.each([
  {
    name: "DEN_VZ_HELPER naming an executable comes first",
    setup: () => layout({ beside: "executable" }),
    env: (l: ReturnType<typeof layout>) => ({ DEN_VZ_HELPER: l.standIn }),
    embedded: true,
    want: (l: ReturnType<typeof layout>) => ({ source: "env", path: l.standIn, executable: true, entitled: null }),
  },
  {
    name: "DEN_VZ_HELPER naming a plain file is reported, not skipped",
    setup: () => layout({ beside: "executable" }),
    env: (l: ReturnType<typeof layout>) => ({ DEN_VZ_HELPER: l.plain }),
    embedded: true,
    want: (l: ReturnType<typeof layout>) => ({ source: "env", path: l.plain, executable: false, entitled: null }),
  },
  {
    name: "an empty DEN_VZ_HELPER is ignored",
    setup: () => layout({ beside: "executable" }),
    env: () => ({ DEN_VZ_HELPER: "" }),
    embedded: true,
    want: (l: ReturnType<typeof layout>) => ({ source: "beside", path: join(l.dir, "bin", "den-vz-helper"), executable: true, entitled: null }),
  },
  {
    name: "den-vz-helper beside den comes before the embedded one",
    setup: () => layout({ beside: "executable" }),
    env: () => ({}),
    embedded: true,
    want: (l: ReturnType<typeof layout>) => ({ source: "beside", path: join(l.dir, "bin", "den-vz-helper"), executable: true, entitled: null }),
  },
  {
    name: "a den-vz-helper beside den that cannot run is passed over",
    setup: () => layout({ beside: "plain" }),
    env: () => ({}),
    embedded: true,
    want: (l: ReturnType<typeof layout>) => ({ source: "embedded", path: join(l.denHome, "_cache", "vz-helper", helperSha, "den-vz-helper"), executable: true, entitled: null }),
  },
  {
    name: "the embedded helper is found at its cache path without being written",
    setup: () => layout(),
    env: () => ({}),
    embedded: true,
    want: (l: ReturnType<typeof layout>) => ({ source: "embedded", path: join(l.denHome, "_cache", "vz-helper", helperSha, "den-vz-helper"), executable: true, entitled: null }),
  },
  {
    name: "nothing is found in a den built without the helper",
    setup: () => layout(),
    env: () => ({}),
    embedded: false,
    want: () => ({ source: null, path: null, executable: false, entitled: null }),
  },
])("findVzHelper(): $name", ({ setup, env, embedded, want }) => {
  const l = setup();
  const found = findVzHelper({ env: env(l), execPath: l.execPath, denHome: l.denHome, embedded: () => (embedded ? embeddedOf(helperBytes) : null) });
  expect(found).toEqual(want(l) as typeof found);
  expect(() => statSync(l.denHome)).toThrow();
});

test("findVzHelper() takes DEN_HOME from the environment when no denHome is given", () => {
  const l = layout();
  const found = findVzHelper({ env: { DEN_HOME: l.denHome }, execPath: l.execPath, embedded: () => embeddedOf(helperBytes) });
  expect(found.path).toBe(join(l.denHome, "_cache", "vz-helper", helperSha, "den-vz-helper"));
});

test("findVzHelper() refuses an embedded digest that is not hex", () => {
  const l = layout();
  expect(() => findVzHelper({ env: {}, execPath: l.execPath, denHome: l.denHome, embedded: () => embeddedOf(helperBytes, "../../etc") })).toThrow(DenError);
});

test("vzHelperPath() extracts the embedded helper once, executable, and reuses it", async () => {
  const l = layout();
  const embedded = embeddedOf(helperBytes);
  const ctx: VzHelperLocationContext = { env: {}, execPath: l.execPath, denHome: l.denHome, embedded: () => embedded };
  const path = await vzHelperPath(ctx);
  expect(path).toBe(join(l.denHome, "_cache", "vz-helper", helperSha, "den-vz-helper"));
  expect(readFileSync(path, "utf8")).toBe(helperBytes);
  expect(statSync(path).mode & 0o777).toBe(0o755);
  expect(await vzHelperPath(ctx)).toBe(path);
  expect(embedded.reads).toBe(1);
  expect(readdirSync(join(l.denHome, "_cache", "vz-helper", helperSha))).toEqual(["den-vz-helper"]);
});

test("vzHelperPath() rewrites an extracted helper whose content changed", async () => {
  const l = layout();
  const ctx: VzHelperLocationContext = { env: {}, execPath: l.execPath, denHome: l.denHome, embedded: () => embeddedOf(helperBytes) };
  const path = await vzHelperPath(ctx);
  writeFileSync(path, "truncated");
  expect(await vzHelperPath(ctx)).toBe(path);
  expect(readFileSync(path, "utf8")).toBe(helperBytes);
});

test("vzHelperPath() lets two dens extract at the same time", async () => {
  const l = layout();
  const ctx: VzHelperLocationContext = { env: {}, execPath: l.execPath, denHome: l.denHome, embedded: () => embeddedOf(helperBytes) };
  const [a, b] = await Promise.all([vzHelperPath(ctx), vzHelperPath(ctx)]);
  expect(a).toBe(b);
  expect(readFileSync(a, "utf8")).toBe(helperBytes);
  expect(readdirSync(join(l.denHome, "_cache", "vz-helper", helperSha))).toEqual(["den-vz-helper"]);
});

test("vzHelperPath() writes through the given fs", async () => {
  const files = new Map<string, { bytes: Uint8Array; mode: number }>();
  const calls: string[] = [];
  const fs = {
    isExecutableFile: (path: string) => (files.get(path)?.mode ?? 0) & 0o100 ? true : false,
    readFile: async (path: string) => files.get(path)?.bytes ?? Promise.reject(new Error("ENOENT")),
    mkdir: async (path: string) => void calls.push(`mkdir ${path}`),
    writeFile: async (path: string, bytes: Uint8Array, mode: number) => {
      calls.push(`write ${mode.toString(8)}`);
      files.set(path, { bytes, mode });
    },
    rename: async (from: string, to: string) => {
      calls.push("rename");
      files.set(to, files.get(from)!);
      files.delete(from);
    },
    remove: async (path: string) => void files.delete(path),
  };
  const path = await vzHelperPath({ env: {}, execPath: "/opt/den/bin/den", denHome: "/home/alice/.den", embedded: () => embeddedOf(helperBytes), fs });
  expect(path).toBe(`/home/alice/.den/_cache/vz-helper/${helperSha}/den-vz-helper`);
  expect(calls).toEqual([`mkdir /home/alice/.den/_cache/vz-helper/${helperSha}`, "write 755", "rename"]);
  expect([...files.keys()]).toEqual([path]);
});

test.each([
  {
    name: "the embedded bytes do not match their digest",
    ctx: (l: ReturnType<typeof layout>) => ({ env: {}, execPath: l.execPath, denHome: l.denHome, embedded: () => embeddedOf(helperBytes, "0".repeat(64)) }),
    code: "DIGEST_MISMATCH",
    message: `Cannot extract the embedded VZ helper: its SHA-256 is ${helperSha}, not ${"0".repeat(64)}`,
  },
  {
    name: "DEN_VZ_HELPER names a file that cannot run",
    ctx: (l: ReturnType<typeof layout>) => ({ env: { DEN_VZ_HELPER: l.plain }, execPath: l.execPath, denHome: l.denHome, embedded: () => embeddedOf(helperBytes) }),
    code: "DRIVER_UNAVAILABLE",
    message: "that DEN_VZ_HELPER names: it is not an executable file",
  },
  {
    name: "den has no helper at all",
    ctx: (l: ReturnType<typeof layout>) => ({ env: {}, execPath: l.execPath, denHome: l.denHome, embedded: () => null }),
    code: "DRIVER_UNAVAILABLE",
    message: "Cannot find the VZ helper: this den was built without it",
  },
])("vzHelperPath() refuses when $name", async ({ ctx, code, message }) => {
  const l = layout();
  const error = await vzHelperPath(ctx(l)).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(DenError);
  expect((error as DenError).code).toBe(code as DenError["code"]);
  expect((error as DenError).message).toContain(message);
  expect(() => readdirSync(join(l.denHome, "_cache", "vz-helper", helperSha))).toThrow();
});

const entitledXml = `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd"><plist version="1.0"><dict><key>com.apple.security.virtualization</key><true/></dict></plist>`;

test.each([
  { name: "the entitlement set to true", xml: entitledXml, want: true },
  { name: "the entitlement with whitespace", xml: "<dict>\n\t<key>com.apple.security.virtualization</key>\n\t<true />\n</dict>", want: true },
  { name: "the entitlement set to false", xml: "<dict><key>com.apple.security.virtualization</key><false/></dict>", want: false },
  { name: "another entitlement only", xml: "<dict><key>com.apple.security.hypervisor</key><true/></dict>", want: false },
  { name: "a look-alike key", xml: "<dict><key>comXappleXsecurityXvirtualization</key><true/></dict>", want: false },
  { name: "nothing (an unsigned file)", xml: "", want: false },
])("hasEntitlement() finds $name: $want", ({ xml, want }) => {
  expect(hasEntitlement(xml, "com.apple.security.virtualization")).toBe(want);
});

test.each([
  { name: "a signed helper on macOS", os: "darwin", answer: entitledXml as string | null, want: true, asked: true },
  { name: "an unsigned helper on macOS", os: "darwin", answer: "", want: false, asked: true },
  { name: "a Mac without codesign", os: "darwin", answer: null, want: null, asked: true },
  { name: "Linux, where nobody signs", os: "linux", answer: "", want: null, asked: false },
])("readVzHelperFacts() checks the signature of $name", ({ os, answer, want, asked }) => {
  const l = layout({ beside: "executable" });
  const paths: string[] = [];
  const facts = readVzHelperFacts({ os }, { env: {}, execPath: l.execPath, denHome: l.denHome, embedded: () => null, entitlements: (path) => (paths.push(path), answer) });
  expect(facts.entitled).toBe(want);
  expect(paths).toEqual(asked ? [join(l.dir, "bin", "den-vz-helper")] : []);
});

test("readVzHelperFacts() does not extract the embedded helper to ask codesign", () => {
  const l = layout();
  const paths: string[] = [];
  const facts = readVzHelperFacts({ os: "darwin" }, { env: {}, execPath: l.execPath, denHome: l.denHome, embedded: () => embeddedOf(helperBytes), entitlements: (path) => (paths.push(path), "") });
  expect(facts).toMatchObject({ source: "embedded", entitled: null });
  expect(paths).toEqual([]);
});
