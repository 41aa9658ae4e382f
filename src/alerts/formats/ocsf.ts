import { z } from 'zod';
import type { AlertKind, Severity } from '../schema';
import { defineFormat, kindFrom, sourceName } from './types';

// OCSF 1.x Detection Finding (class_uid 2004). Only the attributes Cordon reads are checked;
// the rest of a finding passes through untouched (and unkept).

const User = z.looseObject({
  uid: z.string().min(1).max(256).optional(),
  name: z.string().min(1).max(256).optional(),
  type_id: z.number().int().optional(),
  credential_uid: z.string().max(256).optional(),
});

const Finding = z.looseObject({
  class_uid: z.literal(2004),
  // Epoch milliseconds, up to the end of year 9999 (beyond that no date exists).
  time: z.number().int().min(0).max(253_402_300_799_999),
  severity_id: z.literal([0, 1, 2, 3, 4, 5, 6, 99]),
  confidence_id: z.literal([0, 1, 2, 3, 99]).optional(),
  confidence_score: z.number().int().min(0).max(100).optional(),
  metadata: z.looseObject({
    version: z.string().min(1).max(32),
    product: z
      .looseObject({ name: z.string().max(200).optional(), vendor_name: z.string().max(200).optional() })
      .optional(),
  }),
  finding_info: z.looseObject({
    uid: z.string().min(1).max(180),
    title: z.string().max(1000).optional(),
    types: z.array(z.string().max(200)).max(50).optional(),
  }),
  actor: z.looseObject({ user: User.optional() }).optional(),
  evidences: z
    .array(z.looseObject({ user: User.optional() }))
    .max(100)
    .optional(),
  resources: z
    .array(z.looseObject({ uid: z.string().max(512).optional(), type: z.string().max(200).optional() }))
    .max(100)
    .optional(),
  cloud: z
    .looseObject({
      provider: z.string().max(64).optional(),
      account: z.looseObject({ uid: z.string().max(64).optional() }).optional(),
    })
    .optional(),
});
type Finding = z.infer<typeof Finding>;

// severity_id: 0 Unknown, 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical, 6 Fatal, 99 Other.
const SEVERITY: Record<number, Severity> = { 1: 'low', 2: 'low', 3: 'medium', 4: 'high', 5: 'critical', 6: 'critical' };
// confidence_id: 1 Low, 2 Medium, 3 High; confidence_score (0-100) wins when present.
const CONFIDENCE: Record<number, number> = { 1: 0.3, 2: 0.6, 3: 0.9 };
/** Unknown or Other severity, and a finding without confidence. */
export const OCSF_DEFAULTS = { severity: 'medium' as Severity, confidence: 0.5 };

const KINDS: [RegExp, AlertKind][] = [
  [/secret|credential.*(leak|expos)|leaked/i, 'secret_leak'],
  [/privilege|escalat/i, 'privilege_escalation'],
  [/impossible.?travel/i, 'impossible_travel'],
  [/certificate/i, 'cert_compromise'],
  [/agent|scope/i, 'agent_scope_violation'],
  [/token/i, 'token_abuse'],
  [/policy/i, 'policy_violation'],
];

// Identity systems named by `cloud.provider`; a source's own `provider` setting wins.
const CLOUD_PROVIDERS = new Map([['aws', 'aws-iam']]);

function subjectOf(finding: Finding) {
  const fromEvidence = finding.evidences?.find((e) => e.user?.uid ?? e.user?.name)?.user;
  return fromEvidence ?? ((finding.actor?.user?.uid ?? finding.actor?.user?.name) ? finding.actor?.user : undefined);
}

export const ocsf = defineFormat({
  name: 'ocsf',
  parse: (payload) => Finding.safeParse(payload),
  detect: (payload) => 'class_uid' in payload,
  missingForDetection: (payload) =>
    ['finding_info', 'type_uid', 'category_uid'].some((key) => key in payload) ? ['class_uid'] : undefined,
  adapt(finding, context) {
    const user = subjectOf(finding);
    const provider = context.provider ?? CLOUD_PROVIDERS.get(finding.cloud?.provider?.toLowerCase() ?? '');
    if (!user) {
      return {
        kind: 'unusable',
        problems: [
          {
            field: 'evidences',
            message: 'no evidences[].user or actor.user with a uid or name: the finding names no identity',
          },
        ],
      };
    }
    if (!provider) {
      return {
        kind: 'unusable',
        problems: [
          {
            field: 'cloud.provider',
            message: 'names no identity system Cordon knows (AWS); set `provider` on the source',
          },
        ],
      };
    }
    const info = finding.finding_info;
    const score = finding.confidence_score;
    return {
      kind: 'alert',
      alert: {
        id: `ocsf:${info.uid}`,
        source: sourceName(context, 'ocsf'),
        kind: kindFrom([...(info.types ?? []), info.title ?? ''].join(' '), KINDS, 'anomalous_usage'),
        severity: SEVERITY[finding.severity_id] ?? OCSF_DEFAULTS.severity,
        confidence:
          score !== undefined ? score / 100 : (CONFIDENCE[finding.confidence_id ?? 0] ?? OCSF_DEFAULTS.confidence),
        // The name is what identity systems' APIs take (IAM, PostgreSQL, Kubernetes); uid is kept.
        identity: { provider, id: user.name ?? user.uid },
        observedAt: new Date(finding.time).toISOString(),
        summary: info.title,
        evidence: {
          format: 'ocsf',
          rawDigest: context.rawDigest,
          product: finding.metadata.product?.name,
          findingTypes: info.types,
          userUid: user.uid,
          keyId: user.credential_uid,
          account: finding.cloud?.account?.uid,
          resources: finding.resources?.slice(0, 20).map((r) => ({ uid: r.uid, type: r.type })),
        },
      },
    };
  },
});
