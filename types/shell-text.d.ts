// The boot scripts are imported as text (`with { type: "text" }`) so `bun build --compile` embeds them;
// bun-types declares that for *.txt only.
declare module "*.sh" {
  const text: string;
  export default text;
}
