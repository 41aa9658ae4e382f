// Ed25519 signatures over audit chain heads. The private key lives in a file the database role
// cannot read, so whoever can write the audit tables still cannot make a forged chain verify.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson, fingerprint } from '../digest';

/** Where a chain stood: its last entry's seq and hash. */
export interface ChainHead {
  workflowId: string;
  chain: string;
  seq: number;
  hash: string;
}

/** A head with the signature that vouches for it and the fingerprint of the signing key. */
export interface SignedHead extends ChainHead {
  signature: string;
  key: string;
}

// DER prefixes that turn a raw 32-byte Ed25519 seed or public key into PKCS#8 / SPKI.
const PKCS8_SEED_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

// Domain separation: a head signature can never be passed off as a checkpoint's, or the reverse.
const HEAD_CONTEXT = 'cordon-audit-head/v1\n';
const CHECKPOINT_CONTEXT = 'cordon-audit-checkpoint/v1\n';

const headMessage = ({ workflowId, chain, seq, hash }: ChainHead) =>
  Buffer.from(HEAD_CONTEXT + canonicalJson({ workflowId, chain, seq, hash }));

/** The bytes a checkpoint's signature covers. */
export const checkpointMessage = (at: string, heads: ChainHead[]) =>
  Buffer.from(CHECKPOINT_CONTEXT + canonicalJson({ at, heads }));

// A key file holds PEM, or the raw 32 bytes (binary, base64 or hex).
function rawKeyBytes(content: Buffer): Buffer | undefined {
  if (content.length === 32) return content;
  const text = content.toString('utf8').trim();
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  const base64 = Buffer.from(text, 'base64');
  return base64.length === 32 ? base64 : undefined;
}

function readKey(file: string, kind: 'private' | 'public'): KeyObject {
  const content = readFileSync(file);
  const raw = rawKeyBytes(content);
  const key =
    kind === 'private'
      ? raw
        ? createPrivateKey({ key: Buffer.concat([PKCS8_SEED_PREFIX, raw]), format: 'der', type: 'pkcs8' })
        : createPrivateKey(content)
      : raw
        ? createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
        : createPublicKey(content); // a private key's file also yields its public half
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${file} does not hold an Ed25519 key`);
  return key;
}

/** `sha256:<hex>` of the public key's SPKI bytes: names the key without revealing anything. */
export const keyFingerprint = (publicKey: KeyObject) =>
  fingerprint(publicKey.export({ format: 'der', type: 'spki' }).toString('base64'));

/** Checks signatures with the public key only: all `audit verify` needs. */
export class AuditPublicKey {
  readonly fingerprint: string;

  private constructor(private readonly key: KeyObject) {
    this.fingerprint = keyFingerprint(key);
  }

  /** Reads a public key (PEM or raw 32 bytes) from `file`. */
  static load(file: string): AuditPublicKey {
    return new AuditPublicKey(readKey(file, 'public'));
  }

  static of(key: KeyObject): AuditPublicKey {
    return new AuditPublicKey(key);
  }

  /** Whether `signed` carries this key's signature over its head. */
  vouchesFor(signed: SignedHead): boolean {
    return this.checks(headMessage(signed), signed.signature);
  }

  /** Whether `signature` (base64) is this key's over `message`. */
  checks(message: Buffer, signature: string): boolean {
    try {
      return verify(null, message, this.key, Buffer.from(signature, 'base64'));
    } catch {
      return false;
    }
  }
}

/** Signs chain heads and checkpoints; the only holder of the private key. */
export class AuditSigner {
  readonly publicKey: AuditPublicKey;

  private constructor(private readonly key: KeyObject) {
    this.publicKey = AuditPublicKey.of(createPublicKey(key));
  }

  /** Reads the private key (PEM or the raw 32-byte seed) from `file`. */
  static load(file: string): AuditSigner {
    return new AuditSigner(readKey(file, 'private'));
  }

  /**
   * The embedded default: reads `file`, or on first start creates it (mode 0600) with its public
   * key beside it in `publicFile`, for verifiers.
   */
  static loadOrCreate(file: string, publicFile: string): AuditSigner {
    if (!existsSync(file)) {
      const { privateKey } = generateKeyPairSync('ed25519');
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
    }
    const signer = AuditSigner.load(file);
    if (!existsSync(publicFile)) signer.writePublicKey(publicFile);
    return signer;
  }

  /** Writes the public key as PEM (SPKI): safe to hand to anyone who verifies. */
  writePublicKey(file: string): void {
    const pem = createPublicKey(this.key).export({ format: 'pem', type: 'spki' });
    writeFileSync(file, pem, { mode: 0o644 });
  }

  /** Signs where a chain stands. */
  signHead(head: ChainHead): SignedHead {
    const { workflowId, chain, seq, hash } = head;
    const signature = sign(null, headMessage(head), this.key).toString('base64');
    return { workflowId, chain, seq, hash, signature, key: this.publicKey.fingerprint };
  }

  /** Signs `message` (base64). */
  signBytes(message: Buffer): string {
    return sign(null, message, this.key).toString('base64');
  }
}
