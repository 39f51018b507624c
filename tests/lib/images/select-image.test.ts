import { expect, test } from "bun:test";
import type { FilledImage } from "../../../lib/config/schema.ts";
import { imageCandidates } from "../../../lib/images/select-image.ts";

function image(partial: Partial<FilledImage> & { arch: string }): FilledImage {
  return { location: `/img/${partial.arch}.qcow2`, ...partial };
}

test.each([
  {
    name: "every image of the arch in the order written",
    images: [image({ arch: "aarch64" }), image({ arch: "x86_64" }), image({ arch: "x86_64", location: "/second" })],
    want: ["/img/x86_64.qcow2", "/second"],
  },
  { name: "the only image", images: [image({ arch: "x86_64" })], want: ["/img/x86_64.qcow2"] },
])("imageCandidates() lists $name", ({ images, want }) => {
  expect(imageCandidates(images, "x86_64").map((candidate) => candidate.location)).toEqual([...want]);
});

test.each([
  { name: "another arch only", images: [image({ arch: "aarch64" })], hint: "add an images[] entry with arch: x86_64, or set arch to one of: aarch64" },
  { name: "no images at all", images: [], hint: "add an images[] entry with a location and an arch" },
])("imageCandidates() refuses $name", ({ images, hint }) => {
  expect(() => imageCandidates(images, "x86_64")).toThrow(expect.objectContaining({ code: "CONFIG_INVALID", message: 'No image for arch "x86_64" in images', hint }));
});
