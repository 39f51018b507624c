// Which words may name a plugin. The name becomes part of a file name (`den-NAME`) looked up in several folders,
// so it must never carry a path: no "/", no "\", no ".." and no leading "-" or ".".
const PluginNamePattern = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const MaxPluginNameLength = 64;

/** True when `name` can name a plugin (`den NAME`, `den-url-SCHEME`): the lookup only ever joins such names. */
export function isPluginName(name: string): boolean {
  return name.length <= MaxPluginNameLength && PluginNamePattern.test(name) && !name.includes("..");
}
