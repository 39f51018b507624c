import { expect, test } from "bun:test";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { listInstanceNames } from "../../../lib/store/instance-names.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

test("listInstanceNames() lists instance folders sorted and skips _ and . folders and files", async () => {
  const home = await makeTempDir("den-home-");
  for (const name of ["b", "a", "_config", ".tmp-create-c"]) await mkdir(join(home, name));
  await writeFile(join(home, "stray.yaml"), "");
  expect(await listInstanceNames(home)).toEqual(["a", "b"]);
});

test("listInstanceNames() of a missing home is empty", async () => {
  expect(await listInstanceNames("/nonexistent/den-home")).toEqual([]);
});

test("listInstanceNames() skips den's folders, names den could not have created, and symbolic links", async () => {
  const home = await makeTempDir("den-home-");
  for (const name of ["vm", "_templates", "_disks", ".deleting-vm-1234", "a..b", "with space"]) await mkdir(join(home, name));
  await symlink(join(home, "vm"), join(home, "link"));
  expect(await listInstanceNames(home)).toEqual(["vm"]);
});
