// Pure: workflows import it too.

/**
 * What went wrong, in one line: the cause's message when there is one (Temporal wraps an
 * activity's failure in an ActivityFailure whose own message only names the activity).
 */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? err.cause.message : err.message;
}
