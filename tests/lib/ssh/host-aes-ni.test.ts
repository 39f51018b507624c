import { expect, test } from "bun:test";
import { cpuinfoHasAes, hostHasAesNi } from "../../../lib/ssh/host-aes-ni.ts";

test.each([
  { name: "an x86 CPU with aes", text: "processor\t: 0\nflags\t\t: fpu vme sse2 aes avx\n", want: true },
  { name: "an x86 CPU without aes", text: "flags\t\t: fpu vme sse2 avx\n", want: false },
  { name: "an arm64 CPU with aes", text: "Features\t: fp asimd aes pmull sha1\n", want: true },
  { name: "a flag that only contains aes", text: "flags\t\t: vaes_x\n", want: false },
  { name: "an empty file", text: "", want: false },
])("cpuinfoHasAes() reads $name", ({ text, want }) => {
  expect(cpuinfoHasAes(text)).toBe(want);
});

test("hostHasAesNi() asks once per process", async () => {
  const first = hostHasAesNi();
  expect(hostHasAesNi()).toBe(first);
  expect(typeof (await first)).toBe("boolean");
});
