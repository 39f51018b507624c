import { expect, test } from "bun:test";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listInstanceNames } from "../../../lib/store/instance-names.ts";

test("listInstanceNames() lists instance folders sorted and skips _ and . folders and files", async () => {
  const home = await mkdtemp(join(tmpdir(), "den-home-"));
  for (const name of ["b", "a", "_config", ".tmp-create-c"]) await mkdir(join(home, name));
  await writeFile(join(home, "stray.yaml"), "");
  expect(await listInstanceNames(home)).toEqual(["a", "b"]);
});

test("listInstanceNames() of a missing home is empty", async () => {
  expect(await listInstanceNames("/nonexistent/den-home")).toEqual([]);
});
