import type { IdentityRef } from '../alerts/schema';
import type { Inventory, InventoryIdentity } from './schema';

export * from './schema';

/** The inventory record of an identity, or undefined when it is unknown. */
export function findIdentity(inventory: Inventory, ref: IdentityRef): InventoryIdentity | undefined {
  return inventory.identities.find((i) => i.provider === ref.provider && i.id === ref.id);
}
