import { ApplicationFailure } from '@temporalio/activity';
import { GitHubFailure } from './client';

/** A secret that secret scanning found: the alert is the identity (its token has no other name). */
export interface SecretScanningIdentity {
  kind: 'secret-scanning';
  owner: string;
  repo: string;
  alertNumber: number;
}

/** A fine-grained personal access token's access to an organization (`pat_id` is the grant's id). */
export interface PersonalAccessTokenIdentity {
  kind: 'personal-access-token';
  org: string;
  patId: number;
}

export type GitHubIdentity = SecretScanningIdentity | PersonalAccessTokenIdentity;

// GitHub's own limits: owners and organizations up to 39 characters, repositories up to 100.
const SECRET_SCANNING = /^([\w.-]{1,39})\/([\w.-]{1,100})\/secret-scanning\/([1-9]\d{0,15})$/;
const PERSONAL_ACCESS_TOKEN = /^([\w.-]{1,39})\/personal-access-tokens\/([1-9]\d{0,15})$/;

/**
 * Parses `OWNER/REPO/secret-scanning/NUMBER` (what the GitHub alert format names) or
 * `ORG/personal-access-tokens/PAT_ID`; anything else fails for good, naming both forms.
 */
export function parseIdentity(identityId: string): GitHubIdentity {
  const alert = SECRET_SCANNING.exec(identityId);
  if (alert) return { kind: 'secret-scanning', owner: alert[1], repo: alert[2], alertNumber: Number(alert[3]) };
  const pat = PERSONAL_ACCESS_TOKEN.exec(identityId);
  if (pat) return { kind: 'personal-access-token', org: pat[1], patId: Number(pat[2]) };
  throw ApplicationFailure.create({
    type: GitHubFailure.Rejected,
    message: `github identity "${identityId}" is neither OWNER/REPO/secret-scanning/NUMBER nor ORG/personal-access-tokens/PAT_ID`,
    nonRetryable: true,
  });
}
