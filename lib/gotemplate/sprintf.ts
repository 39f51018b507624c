// Go's fmt.Sprintf for `printf` in templates: the verbs `%v %s %q %d %f %e %t %x %X %o %b %c %%`, the
// flags `- + 0`, width and precision, and fmt's in-band error marks (`%!d(string=x)`, `%!s(MISSING)`).
import { formatMap, formatValue, goTypeName, isMap } from "./go-value.ts";

const VerbPattern = /%([-+# 0]*)(\d+)?(?:\.(\d+))?(.)?/y;

/** Formats `args` by a Go format string. */
export function sprintf(format: string, args: unknown[]): string {
  let out = "";
  let argIndex = 0;
  for (let i = 0; i < format.length; ) {
    if (format[i] !== "%") {
      out += format[i++];
      continue;
    }
    VerbPattern.lastIndex = i;
    const [, flags = "", width, precision, verb] = VerbPattern.exec(format)!;
    i = VerbPattern.lastIndex;
    // fmt gives up on a width or precision it reads as too large, and skips the rest of the format.
    if (verb === undefined || tooLarge(width) || tooLarge(precision)) {
      out += "%!(NOVERB)";
      break;
    }
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (argIndex >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argIndex++];
    const text = formatVerb(verb, arg, { flags, precision: precision === undefined ? undefined : Number(precision) });
    out += pad(text, { width: width === undefined ? 0 : Number(width), flags, zeroes: typeof arg === "number" && /[vdfexXob]/.test(verb) });
  }
  if (argIndex < args.length) out += `%!(EXTRA ${args.slice(argIndex).map((arg) => `${goTypeName(arg)}=${formatValue(arg)}`).join(", ")})`;
  return out;
}

/** fmt's parsenum stops (and the verb is lost) once the number read so far passes 1e6 and more digits follow. */
function tooLarge(digits: string | undefined): boolean {
  let num = 0;
  for (const digit of digits ?? "") {
    if (num > 1e6) return true;
    num = num * 10 + Number(digit);
  }
  return false;
}

/** Pads to `width` runes (fmt counts runes, not bytes or UTF-16 units); zeroes go after a sign. */
function pad(text: string, options: { width: number; flags: string; zeroes: boolean }): string {
  const missing = options.width - [...text].length;
  if (missing <= 0) return text;
  if (options.flags.includes("-")) return text + " ".repeat(missing);
  if (!options.flags.includes("0") || !options.zeroes) return " ".repeat(missing) + text;
  const sign = /^[+-]/.test(text) ? text[0]! : "";
  return sign + "0".repeat(missing) + text.slice(sign.length);
}

function formatVerb(verb: string, arg: unknown, options: { flags: string; precision: number | undefined }): string {
  const { flags, precision } = options;
  const bad = () => (arg === null || arg === undefined ? `%!${verb}(<nil>)` : `%!${verb}(${goTypeName(arg)}=${formatValue(arg)})`);
  if (verb === "v") return formatValue(arg);
  // fmt applies the verb to each element of a slice and each value of a map.
  if (Array.isArray(arg)) return `[${arg.map((item) => formatVerb(verb, item, options)).join(" ")}]`;
  if (isMap(arg)) return formatMap(arg, (item) => formatVerb(verb, item, options));
  const integer = typeof arg === "number" && Number.isInteger(arg) ? arg : undefined;
  const signed = (text: string) => (flags.includes("+") && !text.startsWith("-") ? `+${text}` : text);
  switch (verb) {
    case "s":
      return typeof arg === "string" ? (precision === undefined ? arg : [...arg].slice(0, precision).join("")) : bad();
    case "q":
      if (typeof arg === "string") return goQuote(arg, '"');
      return integer === undefined ? bad() : goQuote(String.fromCodePoint(integer), "'");
    case "c":
      return integer === undefined ? bad() : String.fromCodePoint(integer);
    case "d":
      return integer === undefined ? bad() : signed(String(integer));
    case "f":
      return typeof arg === "number" ? signed(arg.toFixed(precision ?? 6)) : bad();
    case "e": {
      if (typeof arg !== "number") return bad();
      const [mantissa, exp] = arg.toExponential(precision ?? 6).split("e") as [string, string];
      return signed(`${mantissa}e${exp[0]}${exp.slice(1).padStart(2, "0")}`);
    }
    case "t":
      return typeof arg === "boolean" ? String(arg) : bad();
    case "x":
    case "X": {
      const hex = integer !== undefined ? integer.toString(16) : typeof arg === "string" ? Buffer.from(arg, "utf8").toString("hex") : undefined;
      if (hex === undefined) return bad();
      return verb === "X" ? hex.toUpperCase() : hex;
    }
    case "o":
      return integer === undefined ? bad() : integer.toString(8);
    case "b":
      return integer === undefined ? bad() : integer.toString(2);
    default:
      return bad();
  }
}

const QuoteEscapes: Record<string, string> = { "\x07": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\\": "\\\\" };

/**
 * strconv.Quote (and QuoteRune): printable characters stay as they are, the rest become Go escapes,
 * `\x` for ASCII controls and `\u`/`\U` above. JSON.stringify differs (`\u0001`, no `\a`, DEL kept).
 */
export function goQuote(text: string, quote: '"' | "'"): string {
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === quote) out += `\\${quote}`;
    else if (ch in QuoteEscapes) out += QuoteEscapes[ch];
    else if (ch === " " || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) out += ch;
    else if (code < 0x80) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return out + quote;
}
