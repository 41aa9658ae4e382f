// `audit verify`: the chains, seals, head signatures and checkpoints; needs the public key only.
import { existsSync } from 'node:fs';
import { fetchAuditEntries, fetchSignedHeads } from '../audit/access';
import { readCheckpoints } from '../audit/checkpoints';
import { AuditPublicKey } from '../audit/signing';
import { verifyAudit, type AuditVerdict } from '../audit/verify';
import { auditFiles, type Config } from '../config';
import { UsageError } from './errors';

/** Where the verifier reads its key and checkpoints; defaults from the configuration. */
export interface VerifyOptions {
  workflow?: string;
  publicKey?: string;
  checkpoints?: string;
}

/** The public key to verify with, or a usage error naming how to give one. */
export function verifierKey(config: Config, file = auditFiles(config).publicKey): AuditPublicKey {
  if (!existsSync(file))
    throw new UsageError(
      `audit verify: no public key at ${file}: give --public-key FILE or set CORDON_AUDIT_PUBLIC_KEY_FILE`,
    );
  try {
    return AuditPublicKey.load(file);
  } catch (err) {
    throw new UsageError(`audit verify: ${file} is not an Ed25519 public key: ${(err as Error).message}`);
  }
}

/** Reads the store and the checkpoints, and verifies them; every problem is named in the verdict. */
export async function verifyStoredAudit(config: Config, opts: VerifyOptions): Promise<AuditVerdict> {
  const key = verifierKey(config, opts.publicKey);
  const checkpointsFile = opts.checkpoints ?? auditFiles(config).checkpoints;
  if (opts.checkpoints && !existsSync(opts.checkpoints))
    throw new UsageError(`audit verify: no checkpoints file at ${opts.checkpoints}`);
  const [entries, signedHeads] = await Promise.all([
    fetchAuditEntries(config, { workflowId: opts.workflow }),
    fetchSignedHeads(config, opts.workflow),
  ]);
  return verifyAudit({
    entries,
    signedHeads,
    checkpoints: readCheckpoints(checkpointsFile),
    key,
    workflowId: opts.workflow,
  });
}
