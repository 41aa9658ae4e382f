// Apart from the loader (yaml, zod), so that the CLI can recognise the error without loading them.
import type { FieldProblem } from '../alerts/schema';

/** A config file that does not parse or validate; lists each failing field. */
export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: FieldProblem[],
  ) {
    super(`${file} is invalid:\n${problems.map((p) => `  ${p.field}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigFileError';
  }
}
