import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { z } from 'zod';
import { fieldProblems } from '../alerts/schema';
import { InventorySchema, type Inventory } from '../inventory/schema';
import { ConfigFileError } from './fileError';
import { PolicySchema, type Policy } from './schema';

export { ConfigFileError };

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
