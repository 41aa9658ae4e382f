import type { Database } from '../../../src/db';
import type { CaptureKey } from '../captures';
import { readRole, roleName, type RoleState } from './catalog';
import type { PostgresAccess } from './client';

export const PROVIDER = 'postgres';

/** What every action of this connector works with. */
export interface PostgresContext {
  db: Database;
  access: PostgresAccess;
}

/**
 * The capture of `action` on `role` in containment case `caseId`, in Cordon's database. Each case
 * captures afresh and undoes only to what it found itself; within a case the first capture wins.
 */
export const captureKey = (role: string, action: string, caseId: string): CaptureKey => ({
  provider: PROVIDER,
  identityId: role,
  action,
  caseId,
});

/** Validates the identity id and reads the role, errors labelled with what was being done. */
export async function load(
  ctx: PostgresContext,
  identityId: string,
  doing: string,
): Promise<{ role: string; state: RoleState; label: string }> {
  const role = roleName(identityId);
  const label = `${doing} of role "${role}"`;
  return { role, label, state: await readRole(ctx.access.reader(label), role) };
}
