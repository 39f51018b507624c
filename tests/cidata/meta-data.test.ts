import { beforeAll, expect, test } from "bun:test";
import { metaData } from "../../cidata/meta-data.ts";
import { argsFor, pyYamlLoad, requirePyYaml } from "./seed-fixture.ts";

beforeAll(requirePyYaml);

test("metaData() writes the instance id and the hostname", () => {
  expect(metaData(argsFor())).toBe("instance-id: iid-1700000000\nlocal-hostname: den-dev\n");
});

test.each([
  { name: "dev", hostname: "den-dev" },
  { name: "my.box_2", hostname: "den-my-box-2" },
  { name: "0755", hostname: "den-0755" },
])("metaData() names the guest of instance $name $hostname", ({ name, hostname }) => {
  expect(pyYamlLoad(metaData(argsFor({}, { instanceName: name, iid: "iid-1" })))).toEqual({ "instance-id": "iid-1", "local-hostname": hostname });
});
