// Alerts that name a principal but no identity system Cordon can find for it. Pure and zod-free:
// the plan, the workflow and the worker's guard all read these.

/**
 * The provider of a principal no identity system is known for. Its cases only observe and ask a
 * human; no connector serves it, and none may be registered under this name.
 */
export const UNRESOLVED_PROVIDER = 'unresolved';

/** Whether an identity is an unresolved principal. */
export const isUnresolved = (identity: { provider: string }) => identity.provider === UNRESOLVED_PROVIDER;

/**
 * Why an unresolved principal has no case of its own, given the inventory identities (as
 * `provider:id`) that know it by that name: none, or more than one, since Cordon never guesses.
 */
export function unresolvedReason(principal: string, matches: readonly string[] = []): string {
  if (matches.length > 1)
    return (
      `principal ${principal} is ambiguous: it names ${matches.length} identities in the inventory ` +
      `(${matches.join(', ')}), and Cordon does not guess; keep the id or alias on one of them only`
    );
  if (matches.length === 1)
    return (
      `principal ${principal} had no identity system when the alert arrived; the inventory now names ` +
      `${matches[0]} for it: send the alert again to contain it there`
    );
  return `no identity system is known for principal ${principal}: add it to the inventory with its provider (or as an alias of the identity it is)`;
}
