import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configLocations, referredLocations } from "../../../lib/images/referred-locations.ts";

const root = mkdtempSync(join(tmpdir(), "den-referred-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test.each([
  { name: "nothing for an empty configuration", config: {}, want: [] },
  { name: "nothing for something that is not a configuration", config: "images", want: [] },
  {
    name: "images with their kernel and initrd",
    config: { images: [{ location: "https://a/disk", kernel: { location: "https://a/k" }, initrd: { location: "https://a/i" } }, { location: "/local" }] },
    want: ["https://a/disk", "https://a/k", "https://a/i", "/local"],
  },
  { name: "firmware images and containerd archives", config: { firmware: { images: [{ location: "https://f/code.fd" }] }, containerd: { archives: [{ location: "https://c/n.tgz" }] } }, want: ["https://f/code.fd", "https://c/n.tgz"] },
  { name: "nothing for entries without a location", config: { images: [{ arch: "x86_64" }, null, { location: "" }] }, want: [] },
])("configLocations() finds $name", ({ config, want }) => {
  expect(configLocations(config)).toEqual([...want]);
});

test("referredLocations() collects instances (even one whose den.yaml no longer loads), built-in templates and user templates", async () => {
  const denHome = join(root, "home");
  mkdirSync(join(denHome, "vm"), { recursive: true });
  writeFileSync(join(denHome, "vm", "den.yaml"), "images:\n- location: https://example.org/vm.img\n  arch: x86_64\n");
  mkdirSync(join(denHome, "broken"), { recursive: true });
  writeFileSync(join(denHome, "broken", "den.yaml"), "images:\n- location: https://example.org/broken.img\ncpus: many\n");
  mkdirSync(join(denHome, "_templates", "sub"), { recursive: true });
  writeFileSync(join(denHome, "_templates", "sub", "mine.yaml"), "images:\n- location: https://example.org/mine.img\n");
  const locations = await referredLocations(denHome);
  expect(locations.has("https://example.org/vm.img")).toBe(true);
  expect(locations.has("https://example.org/broken.img")).toBe(true);
  expect(locations.has("https://example.org/mine.img")).toBe(true);
  expect([...locations].some((location) => location.startsWith("https://cloud.debian.org/images/cloud/trixie/"))).toBe(true);
});

test("referredLocations() skips a den.yaml that is a FIFO instead of waiting on it", async () => {
  const denHome = join(root, "fifo");
  mkdirSync(join(denHome, "vm"), { recursive: true });
  expect(Bun.spawnSync(["mkfifo", join(denHome, "vm", "den.yaml")]).exitCode).toBe(0);
  const locations = await referredLocations(denHome);
  expect([...locations].some((location) => location.startsWith("https://cloud.debian.org/"))).toBe(true);
}, 10_000);

test("referredLocations() skips a user template larger than 4 MiB unread", async () => {
  const denHome = join(root, "huge");
  mkdirSync(join(denHome, "_templates"), { recursive: true });
  const padding = `# ${"x".repeat(1022)}\n`.repeat(4 * 1024);
  writeFileSync(join(denHome, "_templates", "huge.yaml"), `${padding}images:\n- location: https://example.org/huge.img\n`);
  writeFileSync(join(denHome, "_templates", "small.yaml"), "images:\n- location: https://example.org/small.img\n");
  const locations = await referredLocations(denHome);
  expect(locations.has("https://example.org/small.img")).toBe(true);
  expect(locations.has("https://example.org/huge.img")).toBe(false);
});
