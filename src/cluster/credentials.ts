// The cluster's credentials as files, for processes started elsewhere (docker-compose.yml's
// `credentials` job): the CA and certificates, the JWKS the frontend reads through a file:// URI,
// the tokens, and the payload keys and audit signing key every Cordon process shares. Each kind of
// container mounts only its share of them: a Cordon intake never holds the admin token.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { AuditSigner } from '../audit/signing';
import { dataDirKeyFile } from '../codec/keys';
import { CERT_DAYS, makeClusterCerts } from './certs';
import { CLUSTER_NAMESPACE } from './namespace';
import { makeTokenIssuer, writeClusterTokens } from './tokens';

/**
 * Where the job keeps everything it made; only the job mounts it. Nothing is at the top of the
 * directory, so a container that got the whole volume instead of its share finds none of its files
 * and stops, rather than running with every credential.
 */
export const ISSUED_DIR = 'issued';

/**
 * What each kind of container reads, as paths in the issued directory: the job copies them into
 * a subdirectory per share, which compose mounts (`volume.subpath`) at /credentials.
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
  const issuedDir = path.join(dir, ISSUED_DIR);
  mkdirSync(issuedDir, { recursive: true, mode: 0o700 });
  const jwksFile = path.join(issuedDir, 'jwks.json');
  const issue = renew || !existsSync(jwksFile);
  if (issue) {
    makeClusterCerts(path.join(issuedDir, 'tls'), hosts);
    const issuer = await makeTokenIssuer();
    // Nothing renews them meanwhile: tokens last as long as the certificates.
    await writeClusterTokens(issuer, issuedDir, CLUSTER_NAMESPACE, CERT_DAYS * 24);
    // Written last: its presence says the certificates and tokens are complete.
    writeFileSync(jwksFile, JSON.stringify(issuer.jwks), { mode: 0o644 });
  }
  // Made once and kept: a new payload key would leave the stored histories unreadable.
  dataDirKeyFile(issuedDir, true);
  AuditSigner.loadOrCreate(path.join(issuedDir, 'audit-signing.key'), path.join(issuedDir, 'audit-signing.pub'));
  for (const [share, files] of Object.entries(CREDENTIAL_SHARES)) {
    for (const file of files) copyIfChanged(path.join(issuedDir, file), path.join(dir, share, file));
    removeUnlisted(path.join(dir, share), files);
  }
  return { issued: issue };
}

// Replaced by a rename, never rewritten in place: a running container reading its share sees the
// old file or the new one, never half of one. Unchanged files are left alone. Share directories
// are world-readable: the mount decides which container sees a share, and each image has its own user.
function copyIfChanged(from: string, to: string): void {
  if (existsSync(to) && readFileSync(to).equals(readFileSync(from))) return;
  mkdirSync(path.dirname(to), { recursive: true, mode: 0o755 });
  const next = `${to}.next`;
  copyFileSync(from, next);
  chmodSync(next, statSync(from).mode & 0o777);
  renameSync(next, to);
}

// A file a share no longer lists must not stay readable there.
function removeUnlisted(shareDir: string, files: readonly string[]): void {
  const listed = new Set<string>(files);
  for (const name of readdirSync(shareDir, { recursive: true, encoding: 'utf8' })) {
    const file = path.join(shareDir, name);
    if (!listed.has(name) && statSync(file).isFile()) rmSync(file);
  }
}
