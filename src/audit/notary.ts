// Which key signs this process's audit chain heads, and where its checkpoints go.
import { accessSync, constants, existsSync } from 'node:fs';
import { auditFiles, type Config } from '../config';
import { AuditNotary } from './checkpoints';
import { AuditSigner } from './signing';

const readable = (file: string) => {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The service's notary: the configured key, or the embedded default created in the data dir on
 * first start. Its public key is written beside it when no public key file exists yet.
 */
export function serviceNotary(config: Config): AuditNotary {
  const files = auditFiles(config);
  const signer = files.signingKey
    ? AuditSigner.load(files.signingKey)
    : AuditSigner.loadOrCreate(files.embeddedSigningKey, files.publicKey);
  if (!existsSync(files.publicKey)) signer.writePublicKey(files.publicKey);
  return new AuditNotary(signer, files.checkpoints);
}

/** The notary of a CLI that writes on the store itself: only where it can read the key. */
export function localNotary(config: Config): AuditNotary | undefined {
  const files = auditFiles(config);
  const key = files.signingKey ?? files.embeddedSigningKey;
  return readable(key) ? new AuditNotary(AuditSigner.load(key), files.checkpoints) : undefined;
}

/** Names a configured signing key that cannot be read (checked before anything starts). */
export function signingKeyProblem(config: Config): string | undefined {
  const file = auditFiles(config).signingKey;
  if (!file || readable(file)) return undefined;
  return `cannot read ${file}`;
}
