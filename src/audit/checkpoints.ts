// Signed checkpoints of every chain head, appended to a JSON-lines file outside the database:
// whoever empties or rewrites the audit tables (signatures included) cannot reach this file.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log';
import type { AuditEntry } from './entry';
import { headsOf } from './heads';
import { checkpointMessage, type AuditPublicKey, type AuditSigner, type ChainHead, type SignedHead } from './signing';

/** One line of the checkpoints file: every chain head the signer knew at `at`. */
export interface Checkpoint {
  at: string;
  key: string;
  heads: ChainHead[];
  signature: string;
}

/** A line read back: its checkpoint, or why it cannot be one. */
export type CheckpointLine = { line: number; checkpoint: Checkpoint } | { line: number; problem: string };

/** Reads every line of a checkpoints file; a missing file has none. */
export function readCheckpoints(file: string): CheckpointLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((text, i) => (text.trim() ? [parseLine(text, i + 1)] : []));
}

function parseLine(text: string, line: number): CheckpointLine {
  try {
    const value = JSON.parse(text) as Checkpoint;
    if (typeof value.at !== 'string' || typeof value.signature !== 'string' || !Array.isArray(value.heads))
      return { line, problem: 'not a checkpoint (at, heads, signature)' };
    return { line, checkpoint: value };
  } catch {
    return { line, problem: 'not JSON' };
  }
}

/** Whether `key` signed the checkpoint. */
export const checkpointVerifies = (key: AuditPublicKey, c: Checkpoint) =>
  key.checks(checkpointMessage(c.at, c.heads), c.signature);

const chainKey = (h: ChainHead) => `${h.workflowId}#${h.chain}`;

/**
 * Signs the heads of the chains this process stores, remembers the newest of each, and appends
 * them all as a signed checkpoint now and then. It starts from the file's last checkpoint, so a
 * restart keeps vouching for the chains it vouched for before.
 */
export class AuditNotary {
  private readonly heads = new Map<string, ChainHead>();
  private changed = false;

  constructor(
    readonly signer: AuditSigner,
    private readonly checkpointFile: string,
  ) {
    const last = readCheckpoints(checkpointFile)
      .flatMap((l) => ('checkpoint' in l && checkpointVerifies(signer.publicKey, l.checkpoint) ? [l.checkpoint] : []))
      .at(-1);
    for (const head of last?.heads ?? []) this.heads.set(chainKey(head), head);
  }

  /** Signs the head each chain reaches with `entries` (to be stored in the same transaction). */
  signHeads(entries: AuditEntry[]): SignedHead[] {
    return headsOf(entries).map((head) => this.signer.signHead(head));
  }

  /** Remembers heads once their entries are committed; only then may a checkpoint claim them. */
  committed(heads: ChainHead[]): void {
    for (const head of heads) {
      if ((this.heads.get(chainKey(head))?.seq ?? 0) >= head.seq) continue;
      this.heads.set(chainKey(head), {
        workflowId: head.workflowId,
        chain: head.chain,
        seq: head.seq,
        hash: head.hash,
      });
      this.changed = true;
    }
  }

  /** Appends a signed checkpoint of every known head, if any moved since the last one. */
  writeCheckpoint(at = new Date().toISOString()): boolean {
    if (!this.changed) return false;
    const heads = [...this.heads.values()];
    const checkpoint: Checkpoint = {
      at,
      key: this.signer.publicKey.fingerprint,
      heads,
      signature: this.signer.signBytes(checkpointMessage(at, heads)),
    };
    mkdirSync(path.dirname(this.checkpointFile), { recursive: true });
    appendFileSync(this.checkpointFile, `${JSON.stringify(checkpoint)}\n`);
    this.changed = false;
    return true;
  }

  /** Writes checkpoints every `intervalMs`; the returned stop writes a last one. */
  checkpointEvery(intervalMs: number, logger: Logger): () => void {
    const write = () => {
      try {
        this.writeCheckpoint();
      } catch (err) {
        logger.error({ err: (err as Error).message, file: this.checkpointFile }, 'audit checkpoint not written');
      }
    };
    const timer = setInterval(write, intervalMs);
    timer.unref();
    return () => {
      clearInterval(timer);
      write();
    };
  }
}
