import { expect, test } from "bun:test";
import { join } from "node:path";

const mainTs = join(import.meta.dir, "../../../main.ts");

// `| true` closes the pipe without reading: den's write of the help finds it closed (EPIPE).
test("den --help into a pipe its reader closed at once ends quietly, without a crash report on stderr", () => {
  const result = Bun.spawnSync(["sh", "-c", '"$0" "$1" --help | true', process.execPath, mainTs], { stdout: "pipe", stderr: "pipe" });
  expect(result.stderr.toString()).toBe("");
});
