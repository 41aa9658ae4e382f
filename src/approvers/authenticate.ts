// Who is deciding: a bearer token compared by hash, or an OIDC ID token verified against the
// issuer's keys. A decision counts as a person's only after one of these proved who they are.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { ConfigFileError, loadYaml } from '../policy/load';
import { ApproversFileSchema, type Approver, type ApproversFile } from './schema';

/** A person proved who they are, and how. */
export interface ProvenApprover {
  name: string;
  method: 'token' | 'oidc' | 'slack';
}

export type Authentication = { ok: true; approver: ProvenApprover; limit: number } | { ok: false; reason: string };

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
// Asymmetric signatures only: a symmetric key in a JWKS must never verify an ID token.
const ID_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** The approvers file, ready to authenticate requests. */
export class ApproverDirectory {
  private readonly keys?: JWTVerifyGetKey;

  constructor(
    private readonly file: ApproversFile,
    source = '(approvers)',
  ) {
    const jwks = file.oidc?.jwks;
    if (jwks && 'url' in jwks) this.keys = createRemoteJWKSet(new URL(jwks.url));
    else if (jwks) {
      try {
        this.keys = createLocalJWKSet(JSON.parse(readFileSync(jwks.file, 'utf8')));
      } catch (err) {
        throw new ConfigFileError(source, [
          { field: 'oidc.jwks.file', message: `cannot read a JWKS from ${jwks.file}: ${(err as Error).message}` },
        ]);
      }
    }
  }

  /** Reads and validates the approvers file. */
  static load(path: string): ApproverDirectory {
    return new ApproverDirectory(loadYaml(path, ApproversFileSchema), path);
  }

  /** The approver a Slack user id is mapped to. */
  bySlackUser(userId: string): Approver | undefined {
    return this.file.approvers.find((a) => a.slack === userId);
  }

  /** Authenticates an `Authorization` header value. */
  async authenticate(authorization: string | undefined): Promise<Authentication> {
    if (!authorization) return { ok: false, reason: 'no credentials: send Authorization: Bearer <token>' };
    const token = /^Bearer +(\S+)$/i.exec(authorization)?.[1];
    if (!token) return { ok: false, reason: 'authorization header is not "Bearer <token>"' };
    if (JWT_SHAPE.test(token)) return this.verifyIdToken(token);
    const approver = this.byToken(token);
    return approver
      ? { ok: true, approver: { name: approver.name, method: 'token' }, limit: approver.perMinute }
      : { ok: false, reason: 'unknown bearer token' };
  }

  // Every hash is compared, match or not, so timing says nothing about which one matched.
  private byToken(token: string): Approver | undefined {
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let found: Approver | undefined;
    for (const approver of this.file.approvers) {
      for (const hash of approver.tokens) {
        const expected = Buffer.from(hash.slice('sha256:'.length), 'hex');
        if (timingSafeEqual(expected, presented) && !found) found = approver;
      }
    }
    return found;
  }

  private async verifyIdToken(token: string): Promise<Authentication> {
    const oidc = this.file.oidc;
    if (!oidc || !this.keys) return { ok: false, reason: 'an ID token was sent, but no OIDC issuer is configured' };
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: oidc.issuer,
        audience: oidc.audience,
        clockTolerance: oidc.clockTolerance,
        algorithms: ID_TOKEN_ALGORITHMS,
        requiredClaims: ['exp', oidc.claim],
      });
      const name = payload[oidc.claim];
      if (typeof name !== 'string' || !name.trim())
        return { ok: false, reason: `ID token claim ${oidc.claim} is not a name` };
      if (oidc.claim === 'email' && payload.email_verified !== true)
        return { ok: false, reason: 'ID token e-mail address is not verified (email_verified)' };
      // Only declared approvers: the issuer proves who someone is, the file says they decide here.
      const declared = this.file.approvers.find((a) => a.name === name);
      if (!declared) return { ok: false, reason: `${name.slice(0, 100)} is not a declared approver` };
      return { ok: true, approver: { name, method: 'oidc' }, limit: declared.perMinute };
    } catch (err) {
      // jose's messages name the failed check (expired, issuer, audience, signature), never the token.
      return { ok: false, reason: `ID token refused: ${(err as Error).message}` };
    }
  }
}
