import { z } from 'zod';
import type { AlertKind, Severity } from '../schema';
import { defineFormat, kindFrom, sourceName } from './types';

// Falco's JSON output (json_output: true, or falcosidekick's webhook, which adds `uuid`).
// Identities come from Kubernetes audit events: `ka.user.name` of a service account.

const PRIORITIES = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'informational', 'debug'] as const;

const Event = z.looseObject({
  uuid: z.string().min(1).max(100).optional(),
  rule: z.string().min(1).max(200),
  priority: z
    .string()
    .max(32)
    .transform((p) => p.toLowerCase())
    .pipe(z.enum(PRIORITIES)),
  source: z.string().max(64).optional(),
  time: z.iso.datetime({ offset: true }),
  hostname: z.string().max(256).optional(),
  tags: z.array(z.string().max(100)).max(50).optional(),
  // Any JSON value: plugins write list fields (ka.sourceips) as arrays. Only kept fields are trimmed.
  output_fields: z.record(z.string().max(200), z.unknown()),
});

const SEVERITY: Record<(typeof PRIORITIES)[number], Severity> = {
  emergency: 'critical',
  alert: 'critical',
  critical: 'critical',
  error: 'high',
  warning: 'medium',
  notice: 'low',
  informational: 'low',
  debug: 'low',
};
/** Falco rules carry no confidence; this is what their alerts get. */
export const FALCO_DEFAULT_CONFIDENCE = 0.6;

const KINDS: [RegExp, AlertKind][] = [
  [/mitre_privilege_escalation/, 'privilege_escalation'],
  [/mitre_credential_access/, 'token_abuse'],
  [/mitre_exfiltration/, 'secret_leak'],
];

// Only these fields are kept: others (proc.cmdline, fd.name, …) can carry secrets verbatim.
const KEPT_FIELDS = /^(ka\.(user|target|verb|sourceips|useragent)|k8s\.|container\.(id|name|image))/;
const MAX_KEPT_TEXT = 512;

// A kept field's value, bounded: scalars as they are (text trimmed), lists of scalars up to 20.
function keptValue(value: unknown): unknown {
  if (typeof value === 'string') return value.slice(0, MAX_KEPT_TEXT);
  if (Array.isArray(value))
    return value
      .slice(0, 20)
      .map(keptValue)
      .filter((v) => v === null || typeof v !== 'object');
  return value === null || typeof value === 'number' || typeof value === 'boolean' ? value : undefined;
}
const SERVICE_ACCOUNT = /^system:serviceaccount:([a-z0-9.-]{1,253}):([a-z0-9.-]{1,253})$/;

export const falco = defineFormat({
  name: 'falco',
  parse: (payload) => Event.safeParse(payload),
  detect: (payload) => 'rule' in payload && 'output_fields' in payload,
  missingForDetection: (payload) =>
    'rule' in payload || ('output' in payload && 'priority' in payload)
      ? ['rule', 'output_fields'].filter((key) => !(key in payload))
      : undefined,
  adapt(event, context) {
    const user = event.output_fields['ka.user.name'];
    const account = typeof user === 'string' ? SERVICE_ACCOUNT.exec(user) : null;
    if (!account) {
      return {
        kind: 'unusable',
        problems: [
          {
            field: 'output_fields.ka.user.name',
            message: 'names no Kubernetes service account (system:serviceaccount:<namespace>:<name>)',
          },
        ],
      };
    }
    return {
      kind: 'alert',
      // The inventory may list the service account by its username, as an alias.
      alsoKnownAs: [account[0]],
      alert: {
        id: `falco:${event.uuid ?? context.rawDigest}`,
        source: sourceName(context, 'falco'),
        kind: kindFrom((event.tags ?? []).join(' '), KINDS, 'policy_violation'),
        severity: SEVERITY[event.priority],
        confidence: FALCO_DEFAULT_CONFIDENCE,
        identity: { provider: context.provider ?? 'kubernetes', id: `${account[1]}/${account[2]}` },
        observedAt: event.time,
        summary: `Falco rule "${event.rule}" fired`,
        evidence: {
          format: 'falco',
          rawDigest: context.rawDigest,
          rule: event.rule,
          priority: event.priority,
          eventSource: event.source,
          hostname: event.hostname,
          tags: event.tags,
          fields: Object.fromEntries(
            Object.entries(event.output_fields)
              .filter(([key]) => KEPT_FIELDS.test(key))
              .map(([key, value]) => [key, keptValue(value)]),
          ),
        },
      },
    };
  },
});
