// `audit verify`: the hash chains, their seals, and the signed heads and checkpoints. Needs only
// the public key, so a store rewritten by its own database role cannot pass.
import { SEAL_EVENT, sealMatches } from '../domain/auditEntry';
import { checkpointVerifies, type CheckpointLine } from './checkpoints';
import { verifyChain, type AuditEntry } from './entry';
import type { AuditPublicKey, ChainHead, SignedHead } from './signing';

/** What `audit verify` read and every tamper it found, each named. */
export interface AuditVerdict {
  intact: boolean;
  chains: number;
  entries: number;
  /** Chains closed by a matching seal; the others are open (running cases, the kill switch). */
  sealed: number;
  open: number;
  checkpoints: number;
  latestCheckpoint?: string;
  problems: string[];
}

/** What the verifier is given: the store's contents, the checkpoints file, and the key. */
export interface AuditEvidence {
  entries: AuditEntry[];
  signedHeads: SignedHead[];
  checkpoints: CheckpointLine[];
  key: AuditPublicKey;
  /** Verify this workflow's chains only. */
  workflowId?: string;
}

interface Chain {
  name: string;
  entries: AuditEntry[];
  /** Heads a valid signature vouches for (rows and checkpoints). */
  signed: ChainHead[];
}

const chainKey = (h: { workflowId: string; chain: string }) => `${h.workflowId}#${h.chain}`;
const chainName = (h: { workflowId: string; chain: string }) =>
  h.workflowId === h.chain ? h.workflowId : `${h.workflowId} (${h.chain})`;

/** Checks every chain in `evidence` and names each tamper found. */
export function verifyAudit(evidence: AuditEvidence): AuditVerdict {
  const problems: string[] = [];
  const chains = new Map<string, Chain>();
  const chainOf = (h: { workflowId: string; chain: string }) => {
    const key = chainKey(h);
    if (!chains.has(key)) chains.set(key, { name: chainName(h), entries: [], signed: [] });
    return chains.get(key)!;
  };
  const ours = (h: { workflowId: string }) => !evidence.workflowId || h.workflowId === evidence.workflowId;
  const valid = validCheckpoints(evidence, problems);
  for (const head of valid.flatMap((c) => c.heads).filter(ours)) chainOf(head).signed.push(head);
  for (const head of evidence.signedHeads.filter(ours)) {
    if (evidence.key.vouchesFor(head)) chainOf(head).signed.push(head);
    else problems.push(`chain ${chainName(head)}: the head signature at seq ${head.seq} does not verify (forged)`);
  }
  for (const entry of evidence.entries) chainOf(entry).entries.push(entry);
  let sealed = 0;
  for (const chain of chains.values()) {
    chain.entries.sort((a, b) => a.seq - b.seq);
    problems.push(...chainProblems(chain));
    if (chain.entries.at(-1)?.event === SEAL_EVENT) sealed += 1;
  }
  const stored = [...chains.values()].filter((c) => c.entries.length).length;
  return {
    intact: problems.length === 0,
    chains: stored,
    entries: evidence.entries.length,
    sealed,
    open: stored - sealed,
    checkpoints: valid.length,
    ...(valid.length && { latestCheckpoint: valid.at(-1)!.at }),
    problems,
  };
}

function validCheckpoints({ checkpoints, key }: AuditEvidence, problems: string[]) {
  return checkpoints.flatMap((line) => {
    if ('problem' in line) {
      problems.push(`checkpoints line ${line.line}: ${line.problem}`);
      return [];
    }
    if (checkpointVerifies(key, line.checkpoint)) return [line.checkpoint];
    problems.push(`checkpoints line ${line.line}: its signature does not verify with key ${key.fingerprint}`);
    return [];
  });
}

// Every way one chain can disagree with itself, its seal or its signatures.
function chainProblems({ name, entries, signed }: Chain): string[] {
  const n = entries.at(-1)?.seq ?? 0;
  const newest = Math.max(0, ...signed.map((h) => h.seq));
  if (!entries.length)
    return [`chain ${name}: signed up to seq ${newest}, but none of its entries is stored (deleted)`];
  const problems: string[] = [];
  // A row beside a real one with its seq chains as well as the real one: only a count shows it.
  const twice = entries.find((e, i) => i > 0 && entries[i - 1].seq === e.seq);
  if (twice) problems.push(`chain ${name}: seq ${twice.seq} is stored more than once (forged)`);
  if (entries[0].seq !== 1) problems.push(`chain ${name}: entries 1..${entries[0].seq - 1} are missing`);
  const broken = entries[0].seq === 1 ? verifyChain(entries) : null;
  if (broken !== null)
    problems.push(`chain ${name}: entry seq ${broken} does not follow from the one before it (altered or removed)`);
  const rewritten = signed
    .filter((h) => h.seq <= n)
    .sort((a, b) => a.seq - b.seq)
    .find((h) => entries.find((e) => e.seq === h.seq)?.hash !== h.hash);
  if (rewritten)
    problems.push(`chain ${name}: head hash at seq ${rewritten.seq} differs from the signed one (rewritten)`);
  if (newest > n) {
    const missing = newest - n;
    problems.push(
      `chain ${name}: ${missing} ${missing === 1 ? 'entry' : 'entries'} up to the signed head (seq ${newest}) ${missing === 1 ? 'is' : 'are'} missing`,
    );
  }
  if (newest === 0) problems.push(`chain ${name}: not in any signed checkpoint or head signature (forged)`);
  else if (n > newest)
    problems.push(`chain ${name}: entries ${newest + 1}..${n} after the signed head carry no signature`);
  problems.push(...sealProblems(name, entries));
  return problems;
}

function sealProblems(name: string, entries: AuditEntry[]): string[] {
  const at = entries.findIndex((e) => e.event === SEAL_EVENT);
  if (at < 0) return [];
  const problems: string[] = [];
  if (!sealMatches(entries[at]))
    problems.push(`chain ${name}: its seal (seq ${entries[at].seq}) does not match the chain`);
  const after = entries.length - at - 1;
  if (after > 0) problems.push(`chain ${name}: ${after} ${after === 1 ? 'entry follows' : 'entries follow'} its seal`);
  return problems;
}
