import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FORMAT_NAMES } from '../alerts/formats/types';
import { IdentityRef } from '../alerts/schema';
import { ConfigFileError, loadYaml } from '../policy/load';

/** `sha256:<hex>` of a bearer token: the config holds only this, never the token. */
export const hashToken = (token: string) => `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;

/** A fresh bearer token (256 random bits) and the hash to put in the sources file. */
export function newToken(): { token: string; hash: string } {
  const token = `cdn_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token) };
}

const TokenHash = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>; `cordon source token` makes one');

// An HMAC key cannot be stored hashed (it signs), so the file only says where to find it.
const SecretRef = z.union([
  z.object({ env: z.string().min(1) }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
]);

/** One forwarder allowed to post alerts, and how it proves who it is. */
export const SourceSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes'),
    description: z.string().optional(),
    formats: z
      .array(z.enum(FORMAT_NAMES))
      .min(1)
      .default([...FORMAT_NAMES]),
    /** Several hashes let a token be rotated without a gap. */
    tokens: z.array(TokenHash).default([]),
    /** GitHub-style `X-Hub-Signature-256` over the body. */
    hmacSecret: SecretRef.optional(),
    /** The identity system this source's identities live in, for formats that do not say. */
    provider: IdentityRef.shape.provider.optional(),
    rateLimit: z
      .object({ perSecond: z.number().positive().default(50), burst: z.number().int().positive().default(200) })
      .strict()
      .default({ perSecond: 50, burst: 200 }),
  })
  .strict()
  .refine((s) => s.tokens.length > 0 || s.hmacSecret, {
    message: 'needs tokens or hmacSecret: a source must authenticate',
  });

export const SourcesSchema = z
  .object({ sources: z.array(SourceSchema).min(1) })
  .strict()
  .superRefine(({ sources }, ctx) => {
    const seen = new Set<string>();
    sources.forEach((s, i) => {
      if (seen.has(s.name))
        ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `duplicate source name ${s.name}` });
      seen.add(s.name);
    });
  });
export type SourcesFile = z.infer<typeof SourcesSchema>;

/** A source ready for requests: its HMAC key read from where the file points. */
export type Source = Omit<SourcesFile['sources'][number], 'hmacSecret'> & { hmacKey?: Buffer };

function readSecret(file: string, index: number, ref: z.infer<typeof SecretRef>): Buffer {
  const where = `sources.${index}.hmacSecret`;
  if ('env' in ref) {
    const value = process.env[ref.env];
    if (!value)
      throw new ConfigFileError(file, [
        { field: `${where}.env`, message: `environment variable ${ref.env} is not set` },
      ]);
    return Buffer.from(value, 'utf8');
  }
  try {
    return Buffer.from(readFileSync(ref.file, 'utf8').trim(), 'utf8');
  } catch (err) {
    throw new ConfigFileError(file, [
      { field: `${where}.file`, message: `cannot read ${ref.file}: ${(err as NodeJS.ErrnoException).code}` },
    ]);
  }
}

/** Reads the sources file and resolves each HMAC key; every problem names its field. */
export function loadSources(file: string): Source[] {
  return loadYaml(file, SourcesSchema).sources.map(({ hmacSecret, ...source }, i) => ({
    ...source,
    hmacKey: hmacSecret && readSecret(file, i, hmacSecret),
  }));
}
