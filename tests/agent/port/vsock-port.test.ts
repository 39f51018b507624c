// Packing is checked byte for byte; the listener is opened for real (this CI host has /dev/vsock but no transport
// to connect through, so accepting a vsock connection is left to the VZ end-to-end run on a Mac).
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { DenError } from "../../../lib/errors.ts";
import { AfVsock, listenVsockPort, packSockaddrVm, SockaddrVmSize, unpackSockaddrVm, VsockCidAny, VsockCidHost } from "../../../agent/port/vsock-port.ts";

describe("packSockaddrVm()", () => {
  test.each([
    { name: "any CID, port 2222, little-endian", cid: VsockCidAny, port: 2222, order: "LE" as const, hex: "28000000ae080000ffffffff00000000" },
    { name: "host CID, port 22, little-endian", cid: VsockCidHost, port: 22, order: "LE" as const, hex: "28000000160000000200000000000000" },
    { name: "CID 3, port 1024, big-endian", cid: 3, port: 1024, order: "BE" as const, hex: "00280000000004000000000300000000" },
  ])("packSockaddrVm() packs $name", ({ cid, port, order, hex }) => {
    const bytes = packSockaddrVm({ cid, port }, order);
    expect(bytes.byteLength).toBe(SockaddrVmSize);
    expect(Buffer.from(bytes).toString("hex")).toBe(hex);
  });

  test.each([
    { name: "a negative port", address: { cid: 2, port: -1 } },
    { name: "a port over 32 bits", address: { cid: 2, port: 2 ** 32 } },
    { name: "a fractional CID", address: { cid: 2.5, port: 22 } },
  ])("packSockaddrVm() refuses $name", ({ address }) => {
    expect(() => packSockaddrVm(address)).toThrow(RangeError);
  });
});

describe("unpackSockaddrVm()", () => {
  test.each([
    { cid: VsockCidHost, port: 49152, order: "LE" as const },
    { cid: 7, port: 2222, order: "BE" as const },
  ])("unpackSockaddrVm() reads back CID $cid port $port ($order)", ({ cid, port, order }) => {
    expect(unpackSockaddrVm(packSockaddrVm({ cid, port }, order), order)).toEqual({ cid, port });
  });

  test.each([
    { name: "a unix address", bytes: new Uint8Array([1, 0, 47, 116, 109, 112, 0, 0, 0, 0, 0, 0]) },
    { name: "too few bytes", bytes: new Uint8Array([AfVsock, 0, 0, 0]) },
  ])("unpackSockaddrVm() returns undefined for $name", ({ bytes }) => {
    expect(unpackSockaddrVm(bytes, "LE")).toBeUndefined();
  });
});

describe("listenVsockPort()", () => {
  // A port far from 2222 and 22, so a real agent or sshd on this host is not in the way.
  const port = 40_000 + Math.floor(Math.random() * 20_000);

  if (existsSync("/dev/vsock")) {
    test("listenVsockPort() binds and listens where the kernel has vsock, and a second listener on the port is refused", () => {
      const first = listenVsockPort(port);
      try {
        let error: unknown;
        try {
          listenVsockPort(port).close();
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(DenError);
        expect((error as DenError).message).toContain("bind() failed with errno 98");
      } finally {
        first.close();
      }
    });
  } else {
    test("listenVsockPort() fails with a DenError where the kernel has no vsock", () => {
      expect(() => listenVsockPort(port)).toThrow(DenError);
    });
  }
});
