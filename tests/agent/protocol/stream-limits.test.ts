import { expect, test } from "bun:test";
import { MaxPayloadBytes } from "../../../agent/protocol/frame.ts";
import { MaxSendWindowBytes, streamLimits, V1Limits, V1WindowBytes } from "../../../agent/protocol/stream-limits.ts";

const MiB = 1024 * 1024;

test.each([
  { name: "version 1 keeps its fixed windows whatever was announced", protocol: 1, windows: { receive: 4 * MiB, send: 4 * MiB }, expected: V1Limits },
  {
    name: "version 2 uses both announced windows and the largest frames",
    protocol: 2,
    windows: { receive: 4 * MiB, send: 2 * MiB },
    expected: { sendWindow: 2 * MiB, receiveWindow: 4 * MiB, dataChunkBytes: MaxPayloadBytes, creditBatchBytes: MiB },
  },
  {
    name: "version 2 sends only version 1's window to a peer that announced none",
    protocol: 2,
    windows: { receive: 4 * MiB },
    expected: { sendWindow: V1WindowBytes, receiveWindow: 4 * MiB, dataChunkBytes: MaxPayloadBytes, creditBatchBytes: MiB },
  },
  {
    name: "version 2 obeys a small announced window as it is",
    protocol: 2,
    windows: { receive: 4 * MiB, send: 1000 },
    expected: { sendWindow: 1000, receiveWindow: 4 * MiB, dataChunkBytes: MaxPayloadBytes, creditBatchBytes: MiB },
  },
  {
    name: "version 2 caps a huge announced window",
    protocol: 2,
    windows: { receive: 4 * MiB, send: 0xffff_ffff },
    expected: { sendWindow: MaxSendWindowBytes, receiveWindow: 4 * MiB, dataChunkBytes: MaxPayloadBytes, creditBatchBytes: MiB },
  },
])("streamLimits() $name", ({ protocol, windows, expected }) => {
  expect(streamLimits(protocol, windows)).toEqual(expected);
});
