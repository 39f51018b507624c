// Layering of `_config/default.yaml` (d), the instance's lima.yaml (y) and `_config/override.yaml` (o),
// done on every load exactly as Lima's FillDefault does it (lima.md 2.2). Works on plain parsed YAML
// values: built-in defaults are filled later (defaults.ts) and nothing is validated here.

/** One parsed layer; absent files are `undefined`, an empty YAML document parses to `null`. */
export type MergeLayer = Readonly<Record<string, unknown>> | null | undefined;

export interface MergeLayersInput {
  defaults?: MergeLayer;
  instance?: MergeLayer;
  override?: MergeLayer;
}

type Rule = "concat" | "mounts" | "networks" | "dns" | "union";

/**
 * Keys (dotted paths through nested objects) that do not follow the plain "highest priority wins"
 * rule. Lists not named here are treated like scalars. Maps such as env, param, vmOpts, osOpts and
 * hostResolver.hosts need no entry: merging an object key by key with o > y > d gives the same
 * result as Lima's "start from d, overwrite with y, then o".
 */
const rules: ReadonlyMap<string, Rule> = new Map<string, Rule>([
  // First-match-wins lists: override entries must come first.
  ["images", "concat"],
  ["additionalDisks", "concat"],
  ["provision", "concat"],
  ["probes", "concat"],
  ["portForwards", "concat"],
  ["copyToHost", "concat"],
  ["mountTypesUnsupported", "concat"],
  ["containerd.archives", "concat"],
  ["firmware.images", "concat"],
  ["osOpts.Windows.virtioWin", "concat"],
  ["mounts", "mounts"],
  ["networks", "networks"],
  ["dns", "dns"],
  ["caCerts.files", "union"],
  ["caCerts.certs", "union"],
]);

/** Fields of a network entry of which only one may be set; setting one in a later layer clears the others. */
const networkKinds = ["lima", "socket", "vzNAT"] as const;

/** The merged configuration; keys whose value is unset in every layer are left out. */
export function mergeLayers(layers: MergeLayersInput): Record<string, unknown> {
  const merged = mergeObjects([layers.override, layers.instance, layers.defaults], "");
  return merged ?? {};
}

/** `values` are ordered highest priority first (o, y, d). */
function mergeObjects(values: readonly unknown[], prefix: string): Record<string, unknown> | undefined {
  const objects = values.filter(isPlainObject);
  if (objects.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  // Key order: lowest priority layer first, like a map filled d, y, o.
  const keys = new Set<string>();
  for (const object of [...objects].reverse()) for (const key of Object.keys(object)) keys.add(key);
  for (const key of keys) {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    const value = mergeValue(
      values.map((layer) => (isPlainObject(layer) ? layer[key] : undefined)),
      path,
    );
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function mergeValue(values: readonly unknown[], path: string): unknown {
  const rule = rules.get(path);
  switch (rule) {
    case "concat":
      return concatLists(values);
    case "mounts":
      return mergeMounts([...values].reverse());
    case "networks":
      return mergeNetworks([...values].reverse());
    case "dns":
      return highestNonEmptyList(values);
    case "union":
      return uniqueUnion([...values].reverse());
    case undefined:
      break;
  }
  const winner = values.find(isSet);
  if (isPlainObject(winner)) return mergeObjects(values, path);
  return winner === undefined ? undefined : clone(winner);
}

/** o, y, d concatenated; undefined when no layer has the list. */
function concatLists(values: readonly unknown[]): unknown[] | undefined {
  const lists = values.filter(Array.isArray);
  if (lists.length === 0) return undefined;
  return lists.flatMap((list) => list.map(clone));
}

function highestNonEmptyList(values: readonly unknown[]): unknown {
  const nonEmpty = values.find((value) => Array.isArray(value) && value.length > 0);
  if (nonEmpty !== undefined) return clone(nonEmpty);
  const set = values.find(isSet);
  return set === undefined ? undefined : clone(set);
}

/** `values` lowest priority first; keeps the first occurrence of each entry. */
function uniqueUnion(values: readonly unknown[]): unknown[] | undefined {
  const lists = values.filter(Array.isArray);
  if (lists.length === 0) return undefined;
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const entry of lists.flat()) {
    const identity = JSON.stringify(entry);
    if (seen.has(identity)) continue;
    seen.add(identity);
    out.push(clone(entry));
  }
  return out;
}

/**
 * Mounts are taken d, y, o: a later entry with the same mount point (which defaults to the
 * location) updates the earlier one in place, so e.g. override.yaml can make `~` writable.
 */
function mergeMounts(values: readonly unknown[]): unknown[] | undefined {
  return mergeKeyedEntries(values, (entry) => {
    const mountPoint = entry.mountPoint ?? entry.location;
    return typeof mountPoint === "string" && mountPoint !== "" ? mountPoint : undefined;
  });
}

/** Networks are taken d, y, o; entries with the same non-empty interface name are combined. */
function mergeNetworks(values: readonly unknown[]): unknown[] | undefined {
  return mergeKeyedEntries(
    values,
    (entry) => (typeof entry.interface === "string" && entry.interface !== "" ? entry.interface : undefined),
    (earlier, later) => {
      if (!networkKinds.some((kind) => isSet(later[kind]))) return;
      for (const kind of networkKinds) delete earlier[kind];
    },
  );
}

function mergeKeyedEntries(
  values: readonly unknown[],
  keyOf: (entry: Record<string, unknown>) => string | undefined,
  beforeUpdate?: (earlier: Record<string, unknown>, later: Record<string, unknown>) => void,
): unknown[] | undefined {
  const lists = values.filter(Array.isArray);
  if (lists.length === 0) return undefined;
  const out: unknown[] = [];
  const indexByKey = new Map<string, number>();
  for (const entry of lists.flat()) {
    const key = isPlainObject(entry) ? keyOf(entry) : undefined;
    const index = key === undefined ? undefined : indexByKey.get(key);
    if (index === undefined || !isPlainObject(entry)) {
      if (key !== undefined) indexByKey.set(key, out.length);
      out.push(clone(entry));
      continue;
    }
    const earlier = out[index] as Record<string, unknown>;
    beforeUpdate?.(earlier, entry);
    out[index] = overlay(earlier, entry);
  }
  return out;
}

/** `base` with every set field of `top` written over it, nested objects field by field. */
function overlay(base: Record<string, unknown>, top: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(top)) {
    if (!isSet(value)) continue;
    const current = out[key];
    out[key] = isPlainObject(value) && isPlainObject(current) ? overlay(current, value) : clone(value);
  }
  return out;
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}
