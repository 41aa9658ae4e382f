import type { IdentityRef } from '../src/alerts/schema';
import { findIdentity } from '../src/inventory';
import { loadInventory, loadPolicy } from '../src/policy/load';
import type { ContainmentContext } from '../workflows/containment';

/** Where the policy and inventory files are; read on every call so edits apply to new runs. */
export interface ContextFiles {
  policyFile: string;
  inventoryFile: string;
}

/** Loads the policy and the identity's inventory record (absent = unknown identity). */
export function createContextActivities(files: ContextFiles) {
  return {
    async loadContainmentContext(identity: IdentityRef): Promise<ContainmentContext> {
      const policy = loadPolicy(files.policyFile);
      const record = findIdentity(loadInventory(files.inventoryFile), identity);
      return { policy, record };
    },
  };
}
