import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootMarkers, bootMarkersCommand } from "../../../lib/hostagent/boot-markers.ts";

const dir = mkdtempSync(join(tmpdir(), "den-boot-markers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the command as the user's login shell would (`bash -c`), against marker files in a temp dir. */
function run(command: string): { exitCode: number; ms: number } {
  const started = performance.now();
  const child = Bun.spawnSync(["bash", "-c", command]);
  return { exitCode: child.exitCode, ms: performance.now() - started };
}

test.each<{ plain: boolean; want: string[] }>([
  { plain: false, want: ["/run/den-ssh-ready", "/run/den-boot-done"] },
  { plain: true, want: ["/run/den-boot-done"] },
])("bootMarkers() for plain: $plain is $want", ({ plain, want }) => {
  expect(bootMarkers(plain)).toEqual(want);
});

test.each([
  { name: "every marker holds this boot's id", files: { a: "iid-2\n", b: "iid-2\n" }, want: 0 },
  { name: "one marker is from the previous boot", files: { a: "iid-2\n", b: "iid-1\n" }, want: 1 },
  { name: "one marker is missing", files: { a: "iid-2\n" }, want: 1 },
  { name: "a marker has no final newline", files: { a: "iid-2", b: "iid-2\n" }, want: 0 },
  { name: "a marker holds a longer id", files: { a: "iid-2\n", b: "iid-22\n" }, want: 1 },
])("bootMarkersCommand() exits $want when $name", ({ name, files, want }) => {
  const sub = join(dir, name.replaceAll(" ", "-"));
  Bun.spawnSync(["mkdir", "-p", sub]);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(sub, file), text);
  const command = bootMarkersCommand([join(sub, "a"), join(sub, "b")], "iid-2", { waitMs: 300, intervalMs: 100 });
  expect(run(command).exitCode).toBe(want);
});

test("bootMarkersCommand() returns once the markers appear while it waits", async () => {
  const sub = join(dir, "late");
  Bun.spawnSync(["mkdir", "-p", sub]);
  const child = Bun.spawn(["bash", "-c", bootMarkersCommand([join(sub, "a")], "iid-3", { waitMs: 20_000, intervalMs: 100 })]);
  await Bun.sleep(300);
  writeFileSync(join(sub, "a"), "iid-3\n");
  const started = performance.now();
  expect(await child.exited).toBe(0);
  expect(performance.now() - started).toBeLessThan(5_000);
});

test("bootMarkersCommand() keeps a marker path with a space and a quote as one word", () => {
  const sub = join(dir, "it's here");
  Bun.spawnSync(["mkdir", "-p", sub]);
  writeFileSync(join(sub, "a"), "iid-4\n");
  expect(run(bootMarkersCommand([join(sub, "a")], "iid-4", { waitMs: 100, intervalMs: 100 })).exitCode).toBe(0);
});
