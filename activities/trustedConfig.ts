// The policy and inventory the worker trusts: read from its own files, never from a workflow.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Database } from '../src/db';
import type { IdentityRef } from '../src/alerts/schema';
import type { ContainmentContext } from '../src/domain/case';
import { findIdentity, type Inventory } from '../src/inventory';
import { loadInventory, loadPolicy } from '../src/policy/load';
import { policyDigest } from '../src/policy/plan';
import type { Policy } from '../src/policy/schema';

/** Where the policy and inventory files are; edits apply to steps that start after them. */
export interface ConfigFiles {
  policyFile: string;
  inventoryFile: string;
}

// Parses a file again only when its bytes changed: an inventory of thousands of identities would
// otherwise be parsed and validated once per step. Hashing the bytes costs far less than that,
// and unlike timestamps it cannot miss an edit.
function parsedWhileUnchanged<T>(parse: (file: string) => T): (file: string) => T {
  let last: { version: string; value: T } | undefined;
  return (file) => {
    const version = `${file}:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
    if (last?.version !== version) last = { version, value: parse(file) };
    return last.value;
  };
}

/** The worker's policy and inventory, and every policy it ever loaded (by digest, in the store). */
export function trustedConfig(db: Database, files: ConfigFiles) {
  const readPolicy = parsedWhileUnchanged(loadPolicy);
  const readInventory = parsedWhileUnchanged(loadInventory);
  // Digests known to be in the store, and policies read back from it.
  const accepted = new Map<string, Policy>();

  return {
    inventory: (): Inventory => readInventory(files.inventoryFile),

    /** The current policy, recorded as accepted so a case planned with it can act after an edit. */
    async policy(): Promise<{ policy: Policy; digest: string }> {
      const policy = readPolicy(files.policyFile);
      const digest = policyDigest(policy);
      if (!accepted.has(digest)) {
        await db.query(
          `INSERT INTO accepted_policies (digest, version, policy) VALUES ($1, $2, $3::jsonb) ON CONFLICT (digest) DO NOTHING`,
          [digest, policy.version, JSON.stringify(policy)],
        );
        accepted.set(digest, policy);
      }
      return { policy, digest };
    },

    /** A policy this worker (or another sharing the store) loaded from its files, by digest. */
    async acceptedPolicy(digest: string): Promise<Policy | undefined> {
      await this.policy();
      const known = accepted.get(digest);
      if (known) return known;
      const { rows } = await db.query<{ policy: Policy }>('SELECT policy FROM accepted_policies WHERE digest = $1', [
        digest,
      ]);
      // Only a policy whose content still hashes to its digest counts.
      const stored = rows[0]?.policy;
      if (!stored || policyDigest(stored) !== digest) return undefined;
      accepted.set(digest, stored);
      return stored;
    },
  };
}

/** The worker's trusted configuration, as activities use it. */
export type TrustedConfig = ReturnType<typeof trustedConfig>;

/** Reads a new case's context as the worker would: the in-process intake hands it over. */
export function caseContextReader(db: Database, files: ConfigFiles) {
  const config = trustedConfig(db, files);
  return async (identity: IdentityRef): Promise<ContainmentContext> => ({
    policy: (await config.policy()).policy,
    record: findIdentity(config.inventory(), identity),
  });
}
