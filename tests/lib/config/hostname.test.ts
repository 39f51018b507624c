import { expect, test } from "bun:test";
import { hostnameOf } from "../../../lib/config/hostname.ts";

test.each([
  { name: "default", want: "den-default" },
  { name: "ubuntu-24.04", want: "den-ubuntu-24-04" },
  { name: "my_vm", want: "den-my-vm" },
  { name: "a.b_c-d", want: "den-a-b-c-d" },
])("hostnameOf($name) is $want", ({ name, want }) => {
  expect(hostnameOf(name)).toBe(want);
});
