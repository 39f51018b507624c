// The wire format of den's VZ helper control protocol, version 1 (drivers/vz/helper/PROTOCOL.md): one JSON object per
// line on the helper's stdin/stdout. These schemas are the single TypeScript statement of it: the host side
// (helper-client.ts) parses every line the helper sends through them, and the stand-in helper used by the tests
// parses den's requests through them, so neither side can drift from the other without a test noticing.
import { z } from "zod";

export const HelperProtocolVersion = 1;
/** The longest line either side may send, newline excluded. */
export const MaxLineBytes = 1024 * 1024;

/** Codes of `{"error":{"code":…}}` answers and `error` events. */
export const HelperErrorCodes = ["UNSUPPORTED_PROTOCOL", "BAD_REQUEST", "INVALID_CONFIG", "BAD_STATE", "VZ_ERROR", "UNSUPPORTED", "INTERNAL"] as const;
export const HelperErrorCodeSchema = z.enum(HelperErrorCodes);
export type HelperErrorCode = z.infer<typeof HelperErrorCodeSchema>;

export const VmStates = ["stopped", "starting", "running", "paused", "stopping", "error"] as const;
export const VmStateSchema = z.enum(VmStates);
export type VmState = z.infer<typeof VmStateSchema>;

const Path = z.string().min(1);
const Port = z.number().int().min(1).max(65535);

export const BootSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("efi"), variableStorePath: Path }),
  z.strictObject({ kind: z.literal("linux"), kernelPath: Path, initrdPath: Path.nullable(), commandLine: z.string() }),
]);
export type VmBoot = z.infer<typeof BootSchema>;

/** Everything the helper needs to build the machine; den computes it (vz-config.ts), the helper only checks it. */
export const VmConfigSchema = z.strictObject({
  cpus: z.number().int().min(1),
  memoryBytes: z.number().int().min(1),
  boot: BootSchema,
  /** Created by the helper when missing, reused after: the guest sees the same machine on every boot. */
  machineIdentifierPath: Path,
  /** Raw images as virtio-blk devices, in order: the boot disk first, then cidata.iso read-only. */
  disks: z.array(z.strictObject({ path: Path, readOnly: z.boolean() })),
  networks: z.array(z.strictObject({ kind: z.literal("nat"), macAddress: z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i) })),
  /** virtio-fs, one device per tag. */
  shares: z.array(z.strictObject({ tag: z.string().min(1), hostPath: Path, readOnly: z.boolean() })),
  /** The Rosetta share (Lima's tag "vz-rosetta"), or null when Rosetta is off. */
  rosetta: z.strictObject({ tag: z.string().min(1) }).nullable(),
  /** Host listeners the helper connects, one accepted connection at a time, to a vsock port of the guest. */
  vsockForwards: z.strictObject({
    unix: z.array(z.strictObject({ path: Path, guestPort: Port })),
    tcp: z.array(z.strictObject({ hostIP: z.string().min(1), hostPort: Port, guestPort: Port })),
  }),
  serialLogPath: Path,
  balloon: z.boolean(),
  nestedVirtualization: z.boolean(),
});
export type VmConfig = z.infer<typeof VmConfigSchema>;

// --- requests: params and results, by method ---

export const HelloParamsSchema = z.strictObject({ protocolVersion: z.number().int() });
export const RosettaAvailabilities = ["installed", "notInstalled", "unsupported"] as const;
export const HelloResultSchema = z.object({
  protocolVersion: z.number().int(),
  helperVersion: z.string(),
  macosVersion: z.string().nullable(),
  capabilities: z.object({ rosetta: z.enum(RosettaAvailabilities), nestedVirtualization: z.boolean() }),
});
export type HelloResult = z.infer<typeof HelloResultSchema>;

export const CreateParamsSchema = z.strictObject({ config: VmConfigSchema });
export const StopParamsSchema = z.strictObject({ graceful: z.boolean(), timeoutMs: z.number().int().min(0) });
export const StopResultSchema = z.object({ forced: z.boolean() });
export const StateResultSchema = z.object({ state: VmStateSchema });
const Empty = z.object({});

/** Each method's params (what den sends) and result (what the helper answers). */
export const HelperMethods = {
  hello: { params: HelloParamsSchema, result: HelloResultSchema },
  create: { params: CreateParamsSchema, result: Empty },
  start: { params: z.strictObject({}), result: Empty },
  stop: { params: StopParamsSchema, result: StopResultSchema },
  pause: { params: z.strictObject({}), result: Empty },
  resume: { params: z.strictObject({}), result: Empty },
  state: { params: z.strictObject({}), result: StateResultSchema },
} as const;
export type HelperMethod = keyof typeof HelperMethods;
export const HelperMethodSchema = z.enum(Object.keys(HelperMethods) as [HelperMethod, ...HelperMethod[]]);
export type HelperParams<M extends HelperMethod> = z.input<(typeof HelperMethods)[M]["params"]>;
export type HelperResult<M extends HelperMethod> = z.output<(typeof HelperMethods)[M]["result"]>;

/** A request as it crosses the wire; params are checked per method by the receiver. */
export const RequestSchema = z.strictObject({ id: z.number().int().nonnegative(), method: z.string(), params: z.record(z.string(), z.unknown()) });
export type HelperRequest = z.infer<typeof RequestSchema>;

export const HelperErrorSchema = z.object({ code: HelperErrorCodeSchema, message: z.string() });
export type HelperError = z.infer<typeof HelperErrorSchema>;

export const ResponseSchema = z.union([
  z.object({ id: z.number().int().nonnegative(), result: z.record(z.string(), z.unknown()) }),
  z.object({ id: z.number().int().nonnegative(), error: HelperErrorSchema }),
]);
export type HelperResponse = z.infer<typeof ResponseSchema>;

export const StateEventSchema = z.object({ event: z.literal("state"), state: VmStateSchema, reason: z.string().optional() });
export const ErrorEventSchema = z.object({ event: z.literal("error"), code: HelperErrorCodeSchema, message: z.string() });
export const EventSchema = z.discriminatedUnion("event", [StateEventSchema, ErrorEventSchema]);
export type HelperEvent = z.infer<typeof EventSchema>;

/** Anything the helper may write on stdout: an answer (has `id`) or an event (has `event`). */
export const HelperMessageSchema = z.union([ResponseSchema, EventSchema]);
export type HelperMessage = z.infer<typeof HelperMessageSchema>;
