import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IdentityRef } from '../src/alerts/schema';
import { findIdentity } from '../src/inventory';
import { loadInventory, loadPolicy } from '../src/policy/load';
import type { ContainmentContext } from '../workflows/containment';

/** Where the policy and inventory files are; edits apply to runs that start after them. */
export interface ContextFiles {
  policyFile: string;
  inventoryFile: string;
}

// Parses a file again only when its bytes changed: an inventory of thousands of identities
// would otherwise be parsed and validated once per alert. Hashing the bytes costs far less than
// that, and unlike timestamps it cannot miss an edit.
function parsedWhileUnchanged<T>(parse: (file: string) => T): (file: string) => T {
  let last: { version: string; value: T } | undefined;
  return (file) => {
    const version = `${file}:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
    if (last?.version !== version) last = { version, value: parse(file) };
    return last.value;
  };
}

/** Loads the policy and the identity's inventory record (absent = unknown identity). */
export function createContextActivities(files: ContextFiles) {
  const policy = parsedWhileUnchanged(loadPolicy);
  const inventory = parsedWhileUnchanged(loadInventory);
  return {
    async loadContainmentContext(identity: IdentityRef): Promise<ContainmentContext> {
      return { policy: policy(files.policyFile), record: findIdentity(inventory(files.inventoryFile), identity) };
    },
  };
}
