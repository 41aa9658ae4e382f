// Apart from the schema (zod), so that the CLI can recognise the error without loading it.
/** Raised when an environment variable holds an unusable value; names the variable. */
export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; problem: string }[]) {
    super(problems.map((p) => `${p.variable}: ${p.problem}`).join('; '));
    this.name = 'ConfigError';
  }
}
