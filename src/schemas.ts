import { z } from 'zod';
import { AlertSchema } from './alerts/schema';
import { ApproversFileSchema } from './approvers/schema';
import { InventorySchema } from './inventory/schema';
import { SourcesSchema } from './intake/sources';
import { PlaybookTestFile } from './playbooks/schema';
import { PolicySchema } from './policy/schema';

/** JSON Schema of every file format users write, keyed by the schema file's base name. */
export function jsonSchemas(): Record<string, unknown> {
  const exported = (schema: z.ZodType, title: string) => ({
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
    title,
  });
  return {
    policy: exported(PolicySchema, 'Cordon containment policy'),
    inventory: exported(InventorySchema, 'Cordon identity inventory'),
    alert: exported(AlertSchema, 'Cordon native alert'),
    sources: exported(SourcesSchema, 'Cordon alert sources'),
    approvers: exported(ApproversFileSchema, 'Cordon approvers and their credentials'),
    'playbook-test': exported(PlaybookTestFile, 'Cordon playbook test file'),
  };
}
