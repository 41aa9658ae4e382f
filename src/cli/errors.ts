/** A problem with what the user typed or supplied: the CLI exits 2 with this message. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Exit codes every `cordon` command uses. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;
