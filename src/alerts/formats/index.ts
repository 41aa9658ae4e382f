import { parseAlert } from '..';
import { resolvePrincipal, type Resolution } from '../../inventory/resolve';
import type { Inventory } from '../../inventory/schema';
import { fieldProblems, type Alert, type FieldProblem } from '../schema';
import { falco } from './falco';
import { github } from './github';
import { guardduty } from './guardduty';
import { native } from './native';
import { ocsf } from './ocsf';
import type { Adapted, AdapterContext, AlertFormat, FormatName } from './types';

export * from './types';

/** Every format, in detection order; native last, as it is what is left. */
export const FORMATS: readonly AlertFormat[] = [github, ocsf, guardduty, falco, native];
const BY_NAME = new Map(FORMATS.map((format) => [format.name as string, format]));

/** The format named in a path segment or flag, if there is one by that name. */
export const formatNamed = (name: string): AlertFormat | undefined => BY_NAME.get(name);

/** What a payload became: a native alert, an event that opens nothing, or why it is refused. */
export type Normalized =
  | { outcome: 'alert'; format: FormatName; alert: Alert; resolution: Resolution }
  | { outcome: 'ignored'; format: FormatName; reason: string }
  /** The payload breaks its format's schema (or is no JSON object at all). */
  | { outcome: 'invalid'; format: FormatName | 'unknown'; problems: FieldProblem[] }
  /** Well-formed, but it names nothing Cordon can contain. */
  | { outcome: 'unusable'; format: FormatName; problems: FieldProblem[] };

// The formats an undetected payload resembles, each with what it lacked; undefined when none.
function nearMissOf(payload: Record<string, unknown>): Normalized | undefined {
  const misses = FORMATS.flatMap((f) => {
    const missing = f.missingForDetection?.(payload);
    return missing?.length ? [{ format: f.name, missing }] : [];
  });
  if (!misses.length) return undefined;
  const problems = misses.flatMap(({ format, missing }) =>
    missing.map((field) => ({
      field,
      message: `is missing: the body has ${format}'s other fields, but without this one it is not recognised as ${format} (it was read as native); POST /v1/alerts/${format} checks it against ${format}'s schema`,
    })),
  );
  return { outcome: 'invalid', format: misses[0].format, problems };
}

// A principal's names, each once, the alert's own id first: it is the case's id when the
// inventory resolves none (and, taken as sent, must be a valid one).
const principalNames = (names: unknown[]): string[] => [
  ...new Set(names.filter((n): n is string => typeof n === 'string' && n.length > 0)),
];

// The adapted alert with the identity the inventory resolves its principal to. An identity that is
// not even shaped like one is left for the native schema to name.
function resolved(
  adapted: Extract<Adapted, { kind: 'alert' }>,
  inventory: Inventory | undefined,
): { alert: Record<string, unknown>; resolution?: Resolution } {
  const identity = adapted.alert.identity as { provider?: unknown; id?: unknown } | undefined;
  const provider = identity?.provider;
  const names = principalNames([identity?.id, ...(adapted.alsoKnownAs ?? [])]);
  if (!names.length || (provider !== undefined && typeof provider !== 'string')) return { alert: adapted.alert };
  const resolution = resolvePrincipal(inventory, { provider, names });
  return { alert: { ...adapted.alert, identity: resolution.identity }, resolution };
}

/**
 * Turns a forwarder's payload into a validated native alert. `format` comes from the path;
 * without one the payload's shape (and GitHub's event header) decides.
 */
export function normalizeAlert(payload: unknown, context: AdapterContext, format?: AlertFormat): Normalized {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return {
      outcome: 'invalid',
      format: format?.name ?? 'unknown',
      problems: [{ field: '(root)', message: 'must be a JSON object' }],
    };
  }
  const chosen = format ?? FORMATS.find((f) => f.detect(payload as Record<string, unknown>, context.headers)) ?? native;
  const screened = chosen.screen?.(context.headers);
  if (screened?.kind === 'ignored') return { outcome: 'ignored', format: chosen.name, reason: screened.reason };
  if (screened?.kind === 'unusable') return { outcome: 'unusable', format: chosen.name, problems: screened.problems };
  const parsed = chosen.parse(payload);
  if (!parsed.success) {
    // Undeclared and not native either: blame what kept it from being read as the format it resembles.
    const nearMiss = format ? undefined : nearMissOf(payload as Record<string, unknown>);
    return nearMiss ?? { outcome: 'invalid', format: chosen.name, problems: fieldProblems(parsed.error) };
  }
  const adapted = chosen.adapt(parsed.data, context);
  if (adapted.kind === 'ignored') return { outcome: 'ignored', format: chosen.name, reason: adapted.reason };
  if (adapted.kind === 'unusable') return { outcome: 'unusable', format: chosen.name, problems: adapted.problems };
  const { alert: mapped, resolution } = resolved(adapted, context.inventory);
  // Alert ids are the source's own namespace: one source cannot pre-empt another's alert by
  // sending its id first (a repeated id is dropped as a duplicate).
  const candidate = context.source ? { ...mapped, id: `${context.source}:${String(mapped.id)}` } : mapped;
  const alert = parseAlert(candidate);
  // A well-formed payload whose mapped values break the native schema (an identity id with
  // spaces, say) names nothing Cordon can act on.
  if (!alert.ok || !resolution) {
    const problems = alert.ok ? [{ field: 'identity', message: 'names no principal' }] : alert.problems;
    return { outcome: 'unusable', format: chosen.name, problems };
  }
  return { outcome: 'alert', format: chosen.name, alert: alert.alert, resolution };
}
