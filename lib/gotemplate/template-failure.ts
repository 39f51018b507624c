// A failure inside the template engine, located by its offset into the template text. The lexer,
// parser, executor and functions throw it; expandGoTemplate turns it into a DenError with line and
// column, so the offset is the only thing the inner stages need to know about presentation.

/** An error with the offset into the template where it happened. */
export class TemplateFailure extends Error {
  constructor(
    message: string,
    readonly pos: number,
    readonly hint?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}
