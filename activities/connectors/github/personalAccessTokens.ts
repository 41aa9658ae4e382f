import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import type { Database } from '../../../src/db';
import { capture } from '../captures';
import type { ActionRequest, ActionResult, IdentitySnapshot } from '../types';
import { GitHubFailure, seg, type GitHubClient } from './client';
import type { PersonalAccessTokenIdentity } from './identity';

/** The fields of an organization's fine-grained PAT grant the connector reads. */
const Grant = z.looseObject({
  id: z.number().int(),
  owner: z.looseObject({ login: z.string() }),
  token_id: z.number().int(),
  token_name: z.string(),
  token_expired: z.boolean(),
  token_expires_at: z.string().nullable(),
  token_last_used_at: z.string().nullable(),
  access_granted_at: z.string(),
  repository_selection: z.string(),
  permissions: z.record(z.string(), z.unknown()),
});
type Grant = z.infer<typeof Grant>;

const PER_PAGE = 100;
// 10,000 grants; an organization with more is read no further rather than forever.
const MAX_PAGES = 100;

/**
 * The organization's approved grant with this `pat_id`, or undefined when it has none (revoked,
 * expired and cleaned up, or never granted). GitHub has no read of one grant, so the list is paged.
 */
async function findGrant(client: GitHubClient, id: PersonalAccessTokenIdentity): Promise<Grant | undefined> {
  for (let page = 1; page <= MAX_PAGES; page++) {
    const { body, headers } = await client.call({
      method: 'GET',
      path: `/orgs/${seg(id.org)}/personal-access-tokens?per_page=${PER_PAGE}&page=${page}`,
    });
    const grants = z.array(Grant).safeParse(body);
    if (!grants.success)
      throw ApplicationFailure.create({
        type: GitHubFailure.Rejected,
        message: `GitHub answered an unexpected token grant list for organization ${id.org}: ${grants.error.issues[0]?.message}`,
        nonRetryable: true,
      });
    const found = grants.data.find((g) => g.id === id.patId);
    if (found) return found;
    if (!/rel="next"/.test(headers.get('link') ?? '')) return undefined;
  }
  throw ApplicationFailure.create({
    type: GitHubFailure.Rejected,
    message: `organization ${id.org} lists more than ${PER_PAGE * MAX_PAGES} token grants; grant ${id.patId} was not among them`,
    nonRetryable: true,
  });
}

/** The grant as the case records it: who owns the token, what it may reach, when it was last used. */
export async function grantSnapshot(client: GitHubClient, id: PersonalAccessTokenIdentity): Promise<IdentitySnapshot> {
  const grant = await findGrant(client, id);
  const base = { kind: id.kind, organization: id.org, patId: id.patId, granted: grant !== undefined };
  if (!grant) return base;
  return {
    ...base,
    owner: grant.owner.login,
    tokenId: grant.token_id,
    tokenName: grant.token_name,
    repositorySelection: grant.repository_selection,
    permissions: grant.permissions,
    accessGrantedAt: grant.access_granted_at,
    expiresAt: grant.token_expires_at,
    observed: { expired: grant.token_expired, lastUsedAt: grant.token_last_used_at },
  };
}

/** Post-condition of revoke: the organization no longer lists the grant. */
export async function grantRevoked(client: GitHubClient, id: PersonalAccessTokenIdentity): Promise<boolean> {
  return (await findGrant(client, id)) === undefined;
}

/**
 * Revoke of a fine-grained PAT's access to the organization: `POST
 * /orgs/{org}/personal-access-tokens/{pat_id}` with `action: revoke` (GitHub Apps only). Whether
 * the organization listed the grant is kept before the first attempt: a repeat after it is gone
 * changes nothing, but a grant never listed is a wrong id, not a contained token. The owner must
 * ask for access again; nothing in the API gives it back.
 */
export async function revokeGrant(
  db: Database,
  client: GitHubClient,
  id: PersonalAccessTokenIdentity,
  { identityId, caseId }: ActionRequest,
): Promise<ActionResult> {
  const grant = await findGrant(client, id);
  const before = await capture(db, { provider: 'github', identityId, caseId, action: 'revoke' }, async () => ({
    listed: grant !== undefined,
  }));
  if (!before.listed)
    throw ApplicationFailure.create({
      type: GitHubFailure.UnknownIdentity,
      message: `organization ${id.org} lists no token grant ${id.patId}: nothing to revoke (is the id right?)`,
      nonRetryable: true,
    });
  if (!grant) return { changed: false, detail: { already: true, granted: false } };
  // 404: revoked between the read and this call (a concurrent revoke); the check below decides.
  await client.call({
    method: 'POST',
    path: `/orgs/${seg(id.org)}/personal-access-tokens/${id.patId}`,
    body: { action: 'revoke' },
    allow: [404],
  });
  if (!(await grantRevoked(client, id)))
    throw ApplicationFailure.create({
      type: GitHubFailure.Unavailable,
      message: `organization ${id.org} still lists token grant ${id.patId} after revoking it`,
      nonRetryable: false,
    });
  return {
    changed: true,
    detail: { owner: grant.owner.login, tokenId: grant.token_id, tokenName: grant.token_name, granted: false },
  };
}
