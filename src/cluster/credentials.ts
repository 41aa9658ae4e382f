// The cluster's credentials as files, for processes started elsewhere (docker-compose.yml's
// `credentials` job): the CA and certificates, the JWKS the frontend reads through a file:// URI,
// the tokens, and the payload keys and audit signing key every Cordon process shares.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AuditSigner } from '../audit/signing';
import { dataDirKeyFile } from '../codec/keys';
import { CERT_DAYS, makeClusterCerts } from './certs';
import { CLUSTER_NAMESPACE } from './namespace';
import { makeTokenIssuer, writeClusterTokens } from './tokens';

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
  return { issued: issue };
}
