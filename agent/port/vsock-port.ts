// The guest end of the agent channel under VZ: an AF_VSOCK listener (port 2222, Lima's) that the den VZ helper on
// the host connects to whenever the host agent connects to the instance's agent socket. Only the host (CID 2) is
// served, as Lima's agent does: another VM or a process in this guest has no business on the agent's port.
import { endianness } from "node:os";
import { listenStreamSocket } from "./libc-sockets.ts";
import { listeningFdPort } from "./listening-fd-port.ts";
import type { AgentPort } from "./agent-port.ts";

export const AfVsock = 40;
/** VMADDR_CID_ANY: listen on whatever CID this guest has. */
export const VsockCidAny = 0xffff_ffff;
/** VMADDR_CID_HOST: the hypervisor's side. */
export const VsockCidHost = 2;
/** The guest agent's vsock port, as in Lima. */
export const AgentVsockPort = 2222;
/** sizeof(struct sockaddr_vm). */
export const SockaddrVmSize = 16;

export interface VsockAddress {
  cid: number;
  port: number;
}

/**
 * struct sockaddr_vm { sa_family_t svm_family; unsigned short svm_reserved1; unsigned int svm_port;
 * unsigned int svm_cid; u8 svm_flags; u8 svm_zero[3]; } in the host's byte order.
 */
export function packSockaddrVm(address: VsockAddress, byteOrder: "LE" | "BE" = endianness()): Uint8Array {
  for (const [name, value] of [["cid", address.cid], ["port", address.port]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`Invalid vsock ${name} ${value}: it must fit in 32 bits`);
  }
  const bytes = new Uint8Array(SockaddrVmSize);
  const view = new DataView(bytes.buffer);
  const little = byteOrder === "LE";
  view.setUint16(0, AfVsock, little);
  view.setUint32(4, address.port, little);
  view.setUint32(8, address.cid, little);
  return bytes;
}

/** The CID and port of a packed sockaddr_vm, or undefined when the bytes are not one. */
export function unpackSockaddrVm(bytes: Uint8Array, byteOrder: "LE" | "BE" = endianness()): VsockAddress | undefined {
  if (bytes.byteLength < 12) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = byteOrder === "LE";
  if (view.getUint16(0, little) !== AfVsock) return undefined;
  return { port: view.getUint32(4, little), cid: view.getUint32(8, little) };
}

/** Listens on vsock `port` (any local CID) and serves the host's connections; throws a DenError when the guest has
 *  no vsock or the port is taken. */
export function listenVsockPort(port: number): AgentPort {
  const fd = listenStreamSocket(AfVsock, packSockaddrVm({ cid: VsockCidAny, port }));
  return listeningFdPort(fd, { acceptsPeer: (peer) => unpackSockaddrVm(peer)?.cid === VsockCidHost });
}
