import type { Database } from '../../../src/db';
import type { ConnectorAction } from '../types';
import type { GitHubClient } from './client';
import { parseIdentity } from './identity';
import { revokeGrant } from './personalAccessTokens';
import { revokeLeakedSecret } from './secretScanning';

/**
 * Revoke (irreversible: GitHub cannot reactivate a revoked token, and nothing gives a revoked
 * grant back): a leaked token through the credentials API, its alert resolved as revoked; or a
 * fine-grained PAT's access to an organization.
 */
export const revokeAction = (db: Database, client: GitHubClient): ConnectorAction => ({
  name: 'revoke',
  description:
    'Revoke a leaked GitHub token (POST /credentials/revoke) and resolve its secret scanning alert as revoked; or revoke a fine-grained PAT’s access to an organization',
  permissions: [
    'Secret scanning alerts: read and write (repository; reads the leaked value, resolves the alert)',
    'Personal access tokens: read and write (organization; GitHub App installation tokens only)',
    'POST /credentials/revoke needs none: it is called without authentication (60 calls an hour per address)',
  ],
  reversible: false,
  async run(request) {
    const id = parseIdentity(request.identityId);
    return id.kind === 'secret-scanning'
      ? revokeLeakedSecret(db, client, id, request)
      : revokeGrant(db, client, id, request);
  },
});
