import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

// Salts of verifiers Cordon sets start with this marker, so a verifier can be recognised as
// Cordon's rotation (and as this request's one) without storing anything about it.
const MARKER = Buffer.from('cordon:');
const ITERATIONS = 4096;

/** The salt of the rotation made under `idempotencyKey`: the marker plus 9 bytes of its hash. */
export function rotationSalt(role: string, idempotencyKey: string): Buffer {
  return Buffer.concat([
    MARKER,
    createHash('sha256')
      .update(`${role}\0${idempotencyKey}`)
      .digest()
      .subarray(0, 16 - MARKER.length),
  ]);
}

function saltOf(verifier: string | null): Buffer | undefined {
  const match = verifier && /^SCRAM-SHA-256\$\d+:([A-Za-z0-9+/=]+)\$/.exec(verifier);
  return match ? Buffer.from(match[1], 'base64') : undefined;
}

/** True when the verifier was set by a Cordon rotation (any request). */
export const isCordonVerifier = (verifier: string | null) =>
  saltOf(verifier)?.subarray(0, MARKER.length).equals(MARKER) === true;

/** True when the verifier was set by the rotation made under this salt. */
export const hasSalt = (verifier: string | null, salt: Buffer) => saltOf(verifier)?.equals(salt) === true;

/**
 * A SCRAM-SHA-256 verifier (RFC 5802/7677, PostgreSQL's storage format) of a fresh random
 * password, computed here so the password itself never reaches the server (or its logs). The
 * password is discarded: nobody knows it, which is the point.
 */
export function randomPasswordVerifier(salt: Buffer): string {
  const password = randomBytes(32).toString('base64url');
  const salted = pbkdf2Sync(password, salt, ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
