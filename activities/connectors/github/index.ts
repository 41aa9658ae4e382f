import type { Database } from '../../../src/db';
import type { Connector } from '../types';
import { GitHubClient, type GitHubSettings } from './client';
import { parseIdentity, type GitHubIdentity } from './identity';
import { grantRevoked, grantSnapshot } from './personalAccessTokens';
import { revokeAction } from './revoke';
import { alertRevoked, alertSnapshot } from './secretScanning';

const revoked = (client: GitHubClient, id: GitHubIdentity) =>
  id.kind === 'secret-scanning' ? alertRevoked(client, id) : grantRevoked(client, id);

/**
 * The `github` identity system: a secret that secret scanning found
 * (`OWNER/REPO/secret-scanning/NUMBER`, as the GitHub alert format names it) or a fine-grained
 * PAT's access to an organization (`ORG/personal-access-tokens/PAT_ID`). Revoke only: GitHub
 * offers nothing reversible for a token, so there is no restrict, isolate or rotate. Plain
 * fetch; nothing connects until a call.
 */
export function createGitHubConnector(db: Database, settings: GitHubSettings): Connector {
  const client = new GitHubClient(settings);
  return {
    name: 'github',
    description: 'GitHub: leaked tokens found by secret scanning (credentials API) and fine-grained PAT grants',
    actions: { revoke: revokeAction(db, client) },
    /** The alert (never its secret) or the token grant. */
    async snapshot(identityId) {
      const id = parseIdentity(identityId);
      return id.kind === 'secret-scanning' ? alertSnapshot(client, id) : grantSnapshot(client, id);
    },
    // Revoke is the only action; its post-condition reads GitHub alone, not the case's captures.
    async verify(identityId, action, _caseId) {
      return action === 'revoke' && revoked(client, parseIdentity(identityId));
    },
  };
}
