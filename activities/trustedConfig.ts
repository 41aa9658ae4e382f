// The policy and inventory the worker trusts: read from its own files, never from a workflow.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Database } from '../src/db';
import type { IdentityRef } from '../src/alerts/schema';
import type { ContainmentContext } from '../src/domain/case';
import type { Inventory } from '../src/inventory';
import { recordOf } from '../src/inventory/resolve';
import { loadInventory, loadPolicy } from '../src/policy/load';
import { policyDigest } from '../src/policy/plan';
import type { Policy } from '../src/policy/schema';

const MAX_REMEMBERED_BINDINGS = 10_000;

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

/**
 * The worker's policy and inventory. A case acts under the policy that was current when it was
 * opened (bound to the case in `case_policies` by whoever opened it: the worker's opening read, or
 * the in-process intake that handed the context over), or under the current one. Any other
 * policy, even one loaded once before, is refused: an old policy in git is no licence.
 */
export function trustedConfig(db: Database, files: ConfigFiles) {
  const readPolicy = parsedWhileUnchanged(loadPolicy);
  const readInventory = parsedWhileUnchanged(loadInventory);
  // Policies read back from the store, by digest; bindings this process made or saw.
  const known = new Map<string, Policy>();
  const bound = new Set<string>();

  async function current(): Promise<{ policy: Policy; digest: string }> {
    const policy = readPolicy(files.policyFile);
    const digest = policyDigest(policy);
    if (!known.has(digest)) {
      await db.query(
        `INSERT INTO accepted_policies (digest, version, policy) VALUES ($1, $2, $3::jsonb) ON CONFLICT (digest) DO NOTHING`,
        [digest, policy.version, JSON.stringify(policy)],
      );
      known.set(digest, policy);
    }
    return { policy, digest };
  }

  async function stored(digest: string): Promise<Policy | undefined> {
    if (known.has(digest)) return known.get(digest);
    const { rows } = await db.query<{ policy: Policy }>('SELECT policy FROM accepted_policies WHERE digest = $1', [
      digest,
    ]);
    // Only a policy whose content still hashes to its digest counts.
    const policy = rows[0]?.policy;
    if (!policy || policyDigest(policy) !== digest) return undefined;
    known.set(digest, policy);
    return policy;
  }

  return {
    inventory: (): Inventory => readInventory(files.inventoryFile),

    /** The current policy, from the worker's own file. */
    policy: current,

    /** Binds a case to the policy it was opened with (only ever a current one). */
    async bind(caseId: string, digest: string): Promise<void> {
      if (bound.has(`${caseId} ${digest}`)) return;
      await db.query('INSERT INTO case_policies (case_id, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        caseId,
        digest,
      ]);
      // A cache of what is in the store already, not a source of truth: forgetting it costs a query.
      if (bound.size >= MAX_REMEMBERED_BINDINGS) bound.clear();
      bound.add(`${caseId} ${digest}`);
    },

    /** The policy a case may act under: the current one (`now`), or the one it was opened with. */
    async policyForCase(
      caseId: string,
      digest: string,
      now: { policy: Policy; digest: string },
    ): Promise<Policy | undefined> {
      if (digest === now.digest) {
        await this.bind(caseId, digest);
        return now.policy;
      }
      const { rows } = await db.query('SELECT 1 FROM case_policies WHERE case_id = $1 AND digest = $2', [
        caseId,
        digest,
      ]);
      return rows.length ? stored(digest) : undefined;
    },
  };
}

/** The worker's trusted configuration, as activities use it. */
export type TrustedConfig = ReturnType<typeof trustedConfig>;

/** How the in-process intake hands a new case its context: read as the worker would, then bound. */
export interface CaseContextSource {
  read(identity: IdentityRef): Promise<ContainmentContext>;
  /** Binds the case (its first run id) to the policy it was handed. */
  handedOver(caseId: string, context: ContainmentContext): Promise<void>;
}

/** The in-process intake's view of the worker's files. */
export function caseContextSource(db: Database, files: ConfigFiles): CaseContextSource {
  const config = trustedConfig(db, files);
  return {
    read: async (identity) => ({
      policy: (await config.policy()).policy,
      ...recordOf(config.inventory(), identity),
    }),
    handedOver: (caseId, context) => config.bind(caseId, policyDigest(context.policy)),
  };
}
