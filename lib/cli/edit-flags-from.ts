// Reading Lima's edit flags back from a command's parsed options (declared by edit-options.ts), in the action that
// uses them: the schema is loaded with the action, not with every command's declaration.
import { type EditFlags, EditFlagsSchema } from "../config/edit-flags.ts";
import { DenError } from "../errors.ts";

/** The edit flags among a command's parsed options (other options are dropped). */
export function editFlagsFrom(options: unknown): EditFlags {
  const result = EditFlagsSchema.safeParse(options);
  if (!result.success) {
    throw new DenError("INTERNAL", `Cannot read the edit flags: ${result.error.message}`, { cause: result.error });
  }
  return result.data;
}
