import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import type { Database } from '../../../src/db';
import { fingerprint } from '../../../src/digest';
import { capture } from '../captures';
import type { ActionRequest, ActionResult, IdentitySnapshot } from '../types';
import { GitHubFailure, seg, type GitHubClient } from './client';
import type { SecretScanningIdentity } from './identity';

/** The fields of a secret scanning alert the connector reads (GitHub sends many more). */
const Alert = z.looseObject({
  number: z.number().int(),
  state: z.enum(['open', 'resolved']),
  resolution: z.string().nullable().optional(),
  resolved_at: z.string().nullable().optional(),
  resolved_by: z.looseObject({ login: z.string() }).nullable().optional(),
  secret_type: z.string(),
  secret_type_display_name: z.string().optional(),
  secret: z.string().optional(),
  validity: z.string().optional(),
  publicly_leaked: z.boolean().nullable().optional(),
  html_url: z.string().optional(),
});
type Alert = z.infer<typeof Alert>;

/** Token prefixes `POST /credentials/revoke` accepts (classic and fine-grained PATs, OAuth, GitHub App user and refresh tokens). */
export const REVOCABLE_PREFIXES = ['ghp_', 'github_pat_', 'gho_', 'ghu_', 'ghr_'] as const;

const alertPath = (id: SecretScanningIdentity) =>
  `/repos/${seg(id.owner)}/${seg(id.repo)}/secret-scanning/alerts/${id.alertNumber}`;

/** Reads the alert; with `withSecret` GitHub includes the leaked value (kept in memory only). */
async function readAlert(client: GitHubClient, id: SecretScanningIdentity, withSecret: boolean): Promise<Alert> {
  const { body } = await client.call({
    method: 'GET',
    path: `${alertPath(id)}${withSecret ? '' : '?hide_secret=true'}`,
  });
  const parsed = Alert.safeParse(body);
  if (parsed.success) return parsed.data;
  // Never echo the body: it may hold the secret.
  throw ApplicationFailure.create({
    type: GitHubFailure.Rejected,
    message: `GitHub answered an unexpected secret scanning alert shape for ${alertPath(id)}: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    nonRetryable: true,
  });
}

const isRevokedResolution = (alert: Alert) => alert.state === 'resolved' && alert.resolution === 'revoked';

/** What the case records about the alert: never the secret (GitHub is asked to hide it). */
export async function alertSnapshot(client: GitHubClient, id: SecretScanningIdentity): Promise<IdentitySnapshot> {
  const alert = await readAlert(client, id, false);
  return {
    kind: id.kind,
    repository: `${id.owner}/${id.repo}`,
    alert: alert.number,
    url: alert.html_url,
    secretType: alert.secret_type,
    secretTypeName: alert.secret_type_display_name,
    state: alert.state,
    resolution: alert.resolution ?? null,
    resolvedBy: alert.resolved_by?.login ?? null,
    publiclyLeaked: alert.publicly_leaked ?? null,
    // GitHub re-checks validity by itself: evidence, not state a rollback expects back.
    observed: { validity: alert.validity ?? 'unknown' },
  };
}

/** Post-condition of revoke: the alert is resolved as revoked. */
export async function alertRevoked(client: GitHubClient, id: SecretScanningIdentity): Promise<boolean> {
  return isRevokedResolution(await readAlert(client, id, false));
}

/** The leaked value, when the credentials API can revoke it; otherwise a permanent failure naming why. */
function revocableSecret(alert: Alert, id: SecretScanningIdentity): string {
  const where = alert.html_url ?? alertPath(id);
  if (alert.secret === undefined || alert.secret === '')
    throw ApplicationFailure.create({
      type: GitHubFailure.Unrevocable,
      message: `secret scanning alert ${where} shows no secret value to Cordon's token (it needs "Secret scanning alerts: read and write" on the repository); revoke the secret by hand`,
      nonRetryable: true,
    });
  if (!REVOCABLE_PREFIXES.some((prefix) => alert.secret!.startsWith(prefix)))
    throw ApplicationFailure.create({
      type: GitHubFailure.Unrevocable,
      message: `the ${alert.secret_type_display_name ?? alert.secret_type} of alert ${where} is not a token GitHub's credentials API revokes (${REVOCABLE_PREFIXES.join(', ')}): a human must revoke it at its issuer and resolve the alert`,
      nonRetryable: true,
    });
  return alert.secret;
}

/**
 * Submits the secret to `POST /credentials/revoke` (anonymous: GitHub answers 403 to
 * authenticated calls), once per case: a retry after a failed resolve does not spend the
 * endpoint's 60 calls an hour again. Keeps only the fingerprint and when.
 */
function submitOnce(db: Database, client: GitHubClient, secret: string, { identityId, caseId }: ActionRequest) {
  const key = { provider: 'github', identityId, caseId, action: 'revoke:credentials' };
  return capture(db, key, async () => {
    await client.call({
      method: 'POST',
      path: '/credentials/revoke',
      body: { credentials: [secret] },
      anonymous: true,
      secrets: [secret],
    });
    return { secretFingerprint: fingerprint(secret), submittedAt: new Date().toISOString() };
  });
}

/**
 * Revoke of a leaked token: read the alert (with the secret), submit the secret for revocation,
 * then resolve the alert as revoked with a comment naming the case. Only the secret's fingerprint
 * leaves this function.
 */
export async function revokeLeakedSecret(
  db: Database,
  client: GitHubClient,
  id: SecretScanningIdentity,
  request: ActionRequest,
): Promise<ActionResult> {
  const alert = await readAlert(client, id, true);
  if (isRevokedResolution(alert))
    return { changed: false, detail: { already: true, state: alert.state, resolution: alert.resolution } };
  const submitted = await submitOnce(db, client, revocableSecret(alert, id), request);
  await client.call({
    method: 'PATCH',
    path: alertPath(id),
    body: {
      state: 'resolved',
      resolution: 'revoked',
      resolution_comment: `Revoked by Cordon, containment case ${request.caseId}`,
    },
  });
  return {
    changed: true,
    detail: {
      secretType: alert.secret_type,
      secretFingerprint: submitted.secretFingerprint,
      revocationSubmittedAt: submitted.submittedAt,
      previousState: alert.state,
      previousResolution: alert.resolution ?? null,
      state: 'resolved',
      resolution: 'revoked',
    },
  };
}
