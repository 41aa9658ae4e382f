import type { z } from 'zod';
import type { Inventory } from '../../inventory/schema';
import type { FieldProblem } from '../schema';

/** Every payload format the intake reads; `/v1/alerts/{format}` selects one. */
export const FORMAT_NAMES = ['native', 'ocsf', 'github', 'guardduty', 'falco'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

/** What an adapter knows besides the payload itself. */
export interface AdapterContext {
  /** The authenticated source; undefined for anonymous loopback submissions. */
  source?: string;
  /** The identity system the source's identities live in, when its config names one. */
  provider?: string;
  /** Request headers, lower-cased (GitHub names its event in one). */
  headers: Record<string, string | string[] | undefined>;
  /** `sha256:<hex>` of the payload as received, kept as evidence. */
  rawDigest: string;
  /** The worker's inventory: principals are resolved through it (without it, only as named). */
  inventory?: Inventory;
}

/** What an adapter makes of a payload that matched its schema. */
export type Adapted =
  /**
   * A candidate native alert; it is validated against the native schema afterwards. An identity
   * without `provider` names a principal whose identity system the inventory decides; `alsoKnownAs`
   * are the principal's other names (uids, ARNs, emails), tried against inventory aliases.
   */
  | { kind: 'alert'; alert: Record<string, unknown>; alsoKnownAs?: string[] }
  /** A well-formed event that opens no containment (a GitHub ping, a resolved alert). */
  | { kind: 'ignored'; reason: string }
  /** Well-formed, but it names no identity Cordon can contain. */
  | { kind: 'unusable'; problems: FieldProblem[] };

/** One forwarder format: its published shape, how to spot it, and how it maps to an alert. */
export interface AlertFormat<T = unknown> {
  name: FormatName;
  /** Decides from the headers alone, before the payload is checked (a GitHub ping has no alert). */
  screen?(headers: AdapterContext['headers']): Exclude<Adapted, { kind: 'alert' }> | undefined;
  /** Validates the payload against the format's published schema. */
  parse(payload: unknown): z.ZodSafeParseResult<T>;
  /** Whether an undeclared payload looks like this format. */
  detect(payload: Record<string, unknown>, headers: AdapterContext['headers']): boolean;
  /**
   * For a payload `detect` missed: the fields it lacks to be read as this format, when it carries
   * this format's other marks; undefined when it does not look like this format at all.
   */
  missingForDetection?(payload: Record<string, unknown>): string[] | undefined;
  adapt(payload: T, context: AdapterContext): Adapted;
}

/** Types an adapter while letting the registry hold adapters of different payloads. */
export const defineFormat = <T>(format: AlertFormat<T>): AlertFormat => format as unknown as AlertFormat;

/** The `source` an adapted alert carries: who sent it, or the format when nobody signed in. */
export const sourceName = (context: AdapterContext, format: FormatName) => context.source ?? format;

/** Maps text to an alert kind by the first matching pattern; `fallback` when none matches. */
export function kindFrom<K extends string>(text: string, table: [RegExp, K][], fallback: K): K {
  return table.find(([pattern]) => pattern.test(text))?.[1] ?? fallback;
}
