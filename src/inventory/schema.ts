import { z } from 'zod';
import { canonicalId } from '../domain/identityId';

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
    /**
     * Other names alerts give this identity: ARNs, uids, emails, `system:serviceaccount:ns:name`.
     * An alert that names the principal without its identity system is resolved through them.
     */
    aliases: z.array(z.string().min(1).max(512)).max(100).optional(),
  })
  .strict();
export type InventoryIdentity = z.infer<typeof InventoryIdentity>;

// An alias names one identity only: one already taken (as another identity's alias or id) would
// make resolution guess. Names are compared as resolution compares them (canonical form).
function checkAliases(identities: InventoryIdentity[], ctx: z.RefinementCtx): void {
  const owners = new Map<string, string>();
  identities.forEach((i) => owners.set(canonicalId(i.id), `${i.provider}:${i.id}`));
  identities.forEach((identity, index) => {
    const self = `${identity.provider}:${identity.id}`;
    identity.aliases?.forEach((alias, position) => {
      const owner = owners.get(canonicalId(alias));
      if (owner !== undefined && owner !== self)
        ctx.addIssue({
          code: 'custom',
          path: ['identities', index, 'aliases', position],
          message: `"${alias}" already names ${owner}: an alias must name one identity only`,
        });
      else owners.set(canonicalId(alias), self);
    });
  });
}

/** The inventory file: every identity Cordon knows attributes for. */
export const InventorySchema = z
  .object({
    identities: z.array(InventoryIdentity).default([]),
  })
  .strict()
  .superRefine(({ identities }, ctx) => checkAliases(identities, ctx));
export type Inventory = z.infer<typeof InventorySchema>;
