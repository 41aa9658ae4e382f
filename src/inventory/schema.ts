import { z } from 'zod';

/** How an identity is used; drives how hard Cordon may act on it. */
export const IdentityClass = z.enum([
  'ephemeral',
  'long-lived',
  'batch',
  'customer-facing',
  'break-glass',
  'partner',
  'agent',
]);
export type IdentityClass = z.infer<typeof IdentityClass>;

/** One known identity: who owns it, what depends on it. */
export const InventoryIdentity = z
  .object({
    provider: z.string().min(1),
    id: z.string().min(1),
    class: IdentityClass,
    shared: z.boolean().default(false),
    environment: z.string().min(1).default('production'),
    criticality: z.enum(['low', 'medium', 'high', 'critical']).default('medium'),
    owner: z.string().min(1).optional(),
    consumers: z.array(z.string()).default([]),
    description: z.string().optional(),
  })
  .strict();
export type InventoryIdentity = z.infer<typeof InventoryIdentity>;

/** The inventory file: every identity Cordon knows attributes for. */
export const InventorySchema = z
  .object({
    identities: z.array(InventoryIdentity).default([]),
  })
  .strict();
export type Inventory = z.infer<typeof InventorySchema>;
