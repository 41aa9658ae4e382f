// Which identity an alert's principal is, by the inventory: by id and by declared aliases. An
// alert that names its identity system is looked up there only; one that does not is resolved
// across every system, and a principal that names no identity, or more than one, stays
// `unresolved`: Cordon never guesses.
import type { IdentityRef } from '../domain/alert';
import { canonicalId } from '../domain/identityId';
import { isUnresolved, UNRESOLVED_PROVIDER, unresolvedReason } from '../domain/unresolved';
import type { Inventory, InventoryIdentity } from './schema';

/** What an alert says about the acting principal. */
export interface Principal {
  /** The identity system, when the alert (or its source) names one. */
  provider?: string;
  /** Its names, most useful first (the first is the case's id when nothing resolves it). */
  names: string[];
}

/** How an alert's principal became the case's identity. */
export type Resolution =
  /** The alert named its identity system, and the identity as the alert calls it or by an alias. */
  | { kind: 'named'; identity: IdentityRef; record?: InventoryIdentity; alias?: string }
  /** No identity system named: exactly one inventory identity has one of the principal's names. */
  | { kind: 'resolved'; identity: IdentityRef; record: InventoryIdentity; by: string }
  /** No identity system named or found: an observe-only case that asks a human. */
  | { kind: 'unresolved'; identity: IdentityRef; reason: string };

const refOf = (record: InventoryIdentity): IdentityRef => ({ provider: record.provider, id: record.id });
const nameOf = (record: InventoryIdentity) => `${record.provider}:${record.id}`;

// The identities that carry one of `names` as their id or an alias, each once, with the name.
function identitiesNamed(inventory: Inventory | undefined, names: string[], provider?: string) {
  const wanted = new Set(names.map(canonicalId));
  const found = new Map<string, { record: InventoryIdentity; by: string }>();
  for (const record of inventory?.identities ?? []) {
    if (provider !== undefined && record.provider !== provider) continue;
    const by = [record.id, ...(record.aliases ?? [])].find((name) => wanted.has(canonicalId(name)));
    if (by !== undefined && !found.has(nameOf(record))) found.set(nameOf(record), { record, by });
  }
  return [...found.values()];
}

/** Resolves a principal through the inventory (none: nothing is known beyond the alert). */
export function resolvePrincipal(inventory: Inventory | undefined, principal: Principal): Resolution {
  const [first] = principal.names;
  const provider = principal.provider !== undefined && !isUnresolved({ provider: principal.provider });
  if (provider) {
    const identity = { provider: principal.provider!, id: first };
    const exact = identitiesNamed(inventory, [first], principal.provider).find((m) => m.by === m.record.id);
    if (exact) return { kind: 'named', identity: refOf(exact.record), record: exact.record };
    const byAlias = identitiesNamed(inventory, principal.names, principal.provider);
    // Two identities of one system under one principal's names: the alert's own id stands.
    if (byAlias.length !== 1) return { kind: 'named', identity };
    return { kind: 'named', identity: refOf(byAlias[0].record), record: byAlias[0].record, alias: byAlias[0].by };
  }
  const matches = identitiesNamed(inventory, principal.names);
  if (matches.length === 1) return { kind: 'resolved', identity: refOf(matches[0].record), ...matches[0] };
  return {
    kind: 'unresolved',
    identity: { provider: UNRESOLVED_PROVIDER, id: first },
    reason: unresolvedReason(
      first,
      matches.map((m) => nameOf(m.record)),
    ),
  };
}

/** The context a case of `identity` opens with: its inventory record, or why it has none. */
export function recordOf(
  inventory: Inventory,
  identity: IdentityRef,
): { record?: InventoryIdentity; unresolved?: string } {
  if (!isUnresolved(identity))
    return { record: inventory.identities.find((i) => i.provider === identity.provider && i.id === identity.id) };
  const matches = identitiesNamed(inventory, [identity.id]).map((m) => nameOf(m.record));
  return { unresolved: unresolvedReason(identity.id, matches) };
}
