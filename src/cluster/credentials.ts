// The cluster's credentials as files, for processes started elsewhere (docker-compose.yml's
// `credentials` job): the CA and certificates, the JWKS the frontend reads through a file:// URI,
// the tokens, and the payload keys and audit signing key every Cordon process shares. Each kind of
// container mounts only its share of them: a Cordon intake never holds the admin token.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AuditSigner } from '../audit/signing';
import { dataDirKeyFile } from '../codec/keys';
import { CERT_DAYS, makeClusterCerts } from './certs';
import { CLUSTER_NAMESPACE } from './namespace';
import { makeTokenIssuer, writeClusterTokens } from './tokens';

/**
 * What each kind of container reads, as paths in the credentials directory: the job copies them
 * into a subdirectory per share, which compose mounts (`volume.subpath`) at the same place.
 */
export const CREDENTIAL_SHARES = {
  'temporal-server': [
    'jwks.json',
    'tls/ca.pem',
    'tls/frontend.pem',
    'tls/frontend.key',
    'tls/internode-ca.pem',
    'tls/internode.pem',
    'tls/internode.key',
  ],
  cordon: [
    'tls/ca.pem',
    'tls/cordon.pem',
    'tls/cordon.key',
    'cordon.jwt',
    'payload-keys',
    'audit-signing.key',
    'audit-signing.pub',
  ],
  // The namespace job registers the namespace and search attributes: the one holder of admin.jwt.
  namespace: ['tls/ca.pem', 'tls/operator.pem', 'tls/operator.key', 'admin.jwt'],
  // A client certificate only: the UI holds no token (docker-compose.yml says how to give it one).
  'web-ui': ['tls/ca.pem', 'tls/operator.pem', 'tls/operator.key'],
} as const;
export type CredentialShare = keyof typeof CREDENTIAL_SHARES;

export interface CredentialOptions {
  /** Names clients dial the frontend by, besides localhost (compose: its service name). */
  hosts: string[];
  /** Replaces the certificates, JWKS and tokens; never the payload keys or the audit signing key. */
  renew?: boolean;
}

/**
 * Makes what is missing in `dir` and keeps what exists, so running the job again changes nothing
 * under running services. Returns whether certificates, JWKS and tokens were issued this time.
 */
export async function writeClusterCredentials(dir: string, { hosts, renew = false }: CredentialOptions) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const jwksFile = path.join(dir, 'jwks.json');
  const issue = renew || !existsSync(jwksFile);
  if (issue) {
    makeClusterCerts(path.join(dir, 'tls'), hosts);
    const issuer = await makeTokenIssuer();
    // Nothing renews them meanwhile: tokens last as long as the certificates.
    await writeClusterTokens(issuer, dir, CLUSTER_NAMESPACE, CERT_DAYS * 24);
    // Written last: its presence says the certificates and tokens are complete.
    writeFileSync(jwksFile, JSON.stringify(issuer.jwks), { mode: 0o644 });
  }
  // Made once and kept: a new payload key would leave the stored histories unreadable.
  dataDirKeyFile(dir, true);
  AuditSigner.loadOrCreate(path.join(dir, 'audit-signing.key'), path.join(dir, 'audit-signing.pub'));
  writeShares(dir);
  return { issued: issue };
}

// Written in place (running containers have the shares mounted) and only where the file changed,
// so running the job again changes nothing and a renewal reaches every share.
function writeShares(dir: string): void {
  for (const [share, files] of Object.entries(CREDENTIAL_SHARES)) {
    for (const file of files) {
      const from = path.join(dir, file);
      const to = path.join(dir, share, file);
      if (existsSync(to) && readFileSync(to).equals(readFileSync(from))) continue;
      mkdirSync(path.dirname(to), { recursive: true, mode: 0o755 });
      copyFileSync(from, to);
      chmodSync(to, statSync(from).mode & 0o777);
    }
  }
}
