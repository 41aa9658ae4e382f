// The cluster's JWT authorization: a signing key made at start-up, its public half served as a
// JWKS on loopback for the Temporal frontend, and tokens whose `permissions` claim the server's
// default claim mapper reads (`<namespace>:<read|write|worker|admin>`, `temporal-system` for the cluster).
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

/** The audience every token names; the frontend refuses tokens minted for another. */
export const CLUSTER_AUDIENCE = 'cordon';

export interface TokenIssuer {
  jwks: { keys: JWK[] };
  /** A token for `subject` granting `permissions`, valid for `hours` (negative: expired), for `audience`. */
  mint(subject: string, permissions: string[], hours?: number, audience?: string): Promise<string>;
}

export async function makeTokenIssuer(): Promise<TokenIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `cordon-cluster-${Date.now().toString(36)}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return {
    jwks: { keys: [jwk] },
    mint: (subject, permissions, hours = 24, audience = CLUSTER_AUDIENCE) =>
      new SignJWT({ permissions })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setSubject(subject)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + Math.round(hours * 3600))
        .sign(privateKey),
  };
}

/** Serves the JWKS at `<url>` on loopback until closed. */
export async function serveJwks(jwks: TokenIssuer['jwks']): Promise<{ url: string; close(): Promise<void> }> {
  const body = JSON.stringify(jwks);
  const server: Server = createServer((req, res) => {
    const known = req.url === '/.well-known/jwks.json';
    res.writeHead(known ? 200 : 404, { 'content-type': 'application/json' }).end(known ? body : '{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The JWTs the start script mints, as files: who may do what in the namespace. */
export interface ClusterTokens {
  /** `<namespace>:write`: Cordon's workers and intakes. */
  cordon: string;
  /** `<namespace>:write`: an operator or approver with the temporal CLI. */
  operator: string;
  /** `<namespace>:read`: may look, never start, signal or update. */
  reader: string;
  /** `temporal-system:admin`: registers the namespace and its search attributes. */
  admin: string;
}

/** Mints the cluster's tokens for `namespace` into `dir` (`<name>.jwt`) and returns their paths. */
export async function writeClusterTokens(
  issuer: TokenIssuer,
  dir: string,
  namespace: string,
  hours?: number,
): Promise<ClusterTokens> {
  const mint = async (name: keyof ClusterTokens, permissions: string[]) =>
    writeToken(dir, name, await issuer.mint(name === 'cordon' ? 'cordon' : `cluster-${name}`, permissions, hours));
  return {
    cordon: await mint('cordon', [`${namespace}:write`]),
    operator: await mint('operator', [`${namespace}:write`]),
    reader: await mint('reader', [`${namespace}:read`]),
    admin: await mint('admin', ['temporal-system:admin']),
  };
}

/** Writes `token` to `<dir>/<name>.jwt`, readable by its owner only, and returns the path. */
export function writeToken(dir: string, name: string, token: string): string {
  const file = path.join(dir, `${name}.jwt`);
  writeFileSync(file, token, { mode: 0o600 });
  return file;
}
