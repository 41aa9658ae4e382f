import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { z } from 'zod';
import { fieldProblems, type FieldProblem } from '../alerts/schema';
import { InventorySchema, type Inventory } from '../inventory/schema';
import { PolicySchema, type Policy } from './schema';

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

/** Reads a YAML file and validates it against a schema; failures name the file and each field. */
export function loadYaml<S extends z.ZodType>(file: string, schema: S): z.infer<S> {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigFileError(file, [{ field: '(file)', message: (err as Error).message }]);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ConfigFileError(file, fieldProblems(parsed.error));
  return parsed.data;
}

/** Reads and validates a policy YAML file. */
export const loadPolicy = (file: string): Policy => loadYaml(file, PolicySchema);

/** Reads and validates an inventory YAML file. */
export const loadInventory = (file: string): Inventory => loadYaml(file, InventorySchema);
