// Payload encryption keys: `<id>:<base64 of 32 bytes>`, newest first. Encryption uses the
// first; decryption any of them, so a rotated-out key stays listed until its histories expire.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The keys this process holds: `current` encrypts, `byId` decrypts. */
export interface PayloadKeys {
  current: { id: string; key: Buffer };
  byId: ReadonlyMap<string, Buffer>;
}

const ENTRY = /^([A-Za-z0-9._-]{1,64}):([A-Za-z0-9+/]{43}=)$/;

/** Parses key entries (one per line or comma); the error names the entry, never the key. */
export function parsePayloadKeys(text: string, origin: string): PayloadKeys {
  const entries = text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  if (!entries.length) throw new Error(`${origin} holds no payload key`);
  const byId = new Map<string, Buffer>();
  entries.forEach((entry, index) => {
    const match = ENTRY.exec(entry);
    if (!match) throw new Error(`${origin}: key ${index + 1} must be <id>:<base64 of 32 bytes>`);
    if (byId.has(match[1])) throw new Error(`${origin}: key id ${match[1]} is listed twice`);
    byId.set(match[1], Buffer.from(match[2], 'base64'));
  });
  const [firstId] = byId.keys();
  return { current: { id: firstId, key: byId.get(firstId)! }, byId };
}

/** A new key entry: `cordon-<yyyymmdd>-<random>:<base64>`. */
export function newKeyEntry(now = new Date()): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '');
  return `cordon-${day}-${randomBytes(3).toString('hex')}:${randomBytes(32).toString('base64')}`;
}

/** Where the keys come from, in order: the environment, a file, or one generated in the data dir. */
export interface KeySettings {
  CORDON_PAYLOAD_KEYS?: string;
  CORDON_PAYLOAD_KEYS_FILE?: string;
  CORDON_DATA_DIR: string;
}

/** The data dir's key file, created (owner-only) with one new key when missing and `create` is set. */
export function dataDirKeyFile(dataDir: string, create: boolean): string | undefined {
  const file = path.join(dataDir, 'payload-keys');
  if (existsSync(file)) return file;
  if (!create) return undefined;
  mkdirSync(dataDir, { recursive: true });
  // Created owner-only; 'wx' never overwrites a key another process made meanwhile.
  writeFileSync(file, `${newKeyEntry()}\n`, { mode: 0o600, flag: 'wx' });
  return file;
}

/**
 * This process's payload keys. `create`: the service makes the data dir's key on first start;
 * the CLI only reads it. Undefined: no key anywhere, payloads travel unencrypted.
 */
export function loadPayloadKeys(settings: KeySettings, create: boolean): PayloadKeys | undefined {
  if (settings.CORDON_PAYLOAD_KEYS) return parsePayloadKeys(settings.CORDON_PAYLOAD_KEYS, 'CORDON_PAYLOAD_KEYS');
  const file = settings.CORDON_PAYLOAD_KEYS_FILE ?? dataDirKeyFile(settings.CORDON_DATA_DIR, create);
  return file ? parsePayloadKeys(readFileSync(file, 'utf8'), file) : undefined;
}
