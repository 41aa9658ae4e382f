// The bearer token of the audit read API. The trail names identities and approvers, so even a
// loopback process must show it; the embedded service writes it where the local CLI finds it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';

const tokenFile = (config: Config) => path.join(config.CORDON_DATA_DIR, 'audit-token');

/**
 * The token the service accepts: CORDON_AUDIT_TOKEN, or a new one per start written to the data
 * dir (mode 0600) for the local CLI.
 */
export function serviceAuditToken(config: Config): string {
  if (config.CORDON_AUDIT_TOKEN) return config.CORDON_AUDIT_TOKEN;
  const token = randomBytes(32).toString('base64url');
  mkdirSync(config.CORDON_DATA_DIR, { recursive: true });
  // A new file each start: an older one may have a wider mode, and overwriting keeps it.
  rmSync(tokenFile(config), { force: true });
  writeFileSync(tokenFile(config), token, { mode: 0o600, flag: 'wx' });
  return token;
}

/** The token the CLI sends: CORDON_AUDIT_TOKEN, or the one the local service wrote. */
export function clientAuditToken(config: Config): string | undefined {
  if (config.CORDON_AUDIT_TOKEN) return config.CORDON_AUDIT_TOKEN;
  return existsSync(tokenFile(config)) ? readFileSync(tokenFile(config), 'utf8').trim() : undefined;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Whether an `Authorization` header carries `expected` (compared in constant time, by digest). */
export function bearerMatches(expected: string, authorization: string | undefined): boolean {
  const presented = /^Bearer +(\S+)$/i.exec(authorization ?? '')?.[1];
  return presented !== undefined && timingSafeEqual(digest(expected), digest(presented));
}
