import { z } from 'zod';
import type { AlertKind, Severity } from '../schema';
import { defineFormat, kindFrom, sourceName } from './types';

// OCSF 1.x Detection Finding (class_uid 2004). Only the attributes Cordon reads are checked;
// the rest of a finding passes through untouched (and unkept).

const User = z.looseObject({
  uid: z.string().min(1).max(256).optional(),
  name: z.string().min(1).max(256).optional(),
  uid_alt: z.string().min(1).max(512).optional(),
  email_addr: z.string().min(1).max(512).optional(),
  type_id: z.number().int().optional(),
  credential_uid: z.string().max(256).optional(),
});
const Process = z.looseObject({ user: User.optional() });
const Actor = z.looseObject({ user: User.optional(), process: Process.optional() });

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
  // `actor` comes with the Host profile; evidences carry `user`, `actor` and `process` (OCSF 1.1+).
  actor: Actor.optional(),
  evidences: z
    .array(z.looseObject({ user: User.optional(), actor: Actor.optional(), process: Process.optional() }))
    .max(100)
    .optional(),
  resources: z
    .array(
      z.looseObject({
        uid: z.string().max(512).optional(),
        uid_alt: z.string().max(512).optional(),
        name: z.string().max(512).optional(),
        type: z.string().max(200).optional(),
        role_id: z.number().int().optional(),
      }),
    )
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

// Identity systems named by `cloud.provider`; a source's own `provider` setting wins. Any other
// cloud (or none) leaves the principal to the inventory.
const CLOUD_PROVIDERS = new Map([['aws', 'aws-iam']]);

// A resource whose type names a principal (`AwsIamUser`, `AWS::IAM::Role`, `ServiceAccount`).
const PRINCIPAL_RESOURCE = /(user|role|service.?account|principal)$/i;
// resource_details.role_id 2: the resource is the actor of the finding.
const ACTOR_ROLE = 2;

/** Where the finding names its acting principal, and its names (the case's id first). */
interface Subject {
  at: string;
  names: string[];
  user?: z.infer<typeof User>;
}

const userSubject = (at: string, user: z.infer<typeof User> | undefined): Subject | undefined => {
  const names = [user?.name, user?.uid, user?.uid_alt, user?.email_addr].filter((n): n is string => !!n);
  return names.length ? { at, names, user } : undefined;
};

// The principal, from the most direct place the schema carries one to the least: the evidence's
// user, its actor, the finding's actor, a process's user, then a resource that is a principal.
function subjectOf(finding: Finding): Subject | undefined {
  const evidences = finding.evidences ?? [];
  const places = [
    ...evidences.map((e, i) => () => userSubject(`evidences[${i}].user`, e.user)),
    ...evidences.map((e, i) => () => userSubject(`evidences[${i}].actor.user`, e.actor?.user)),
    () => userSubject('actor.user', finding.actor?.user),
    ...evidences.map((e, i) => () => userSubject(`evidences[${i}].process.user`, e.process?.user)),
    ...evidences.map((e, i) => () => userSubject(`evidences[${i}].actor.process.user`, e.actor?.process?.user)),
    () => userSubject('actor.process.user', finding.actor?.process?.user),
  ];
  const principals = (finding.resources ?? [])
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.type !== undefined && PRINCIPAL_RESOURCE.test(r.type))
    .sort((a, b) => Number(b.r.role_id === ACTOR_ROLE) - Number(a.r.role_id === ACTOR_ROLE));
  for (const { r, i } of principals) {
    const names = [r.name, r.uid, r.uid_alt].filter((n): n is string => !!n);
    if (names.length) places.push(() => ({ at: `resources[${i}]`, names }));
  }
  for (const place of places) {
    const subject = place();
    if (subject) return subject;
  }
  return undefined;
}

const NO_PRINCIPAL =
  'names no principal: none of evidences[].user, evidences[].actor.user, actor.user, the process users ' +
  '(evidences[].process.user, evidences[].actor.process.user, actor.process.user) or a resources[] entry ' +
  'of a user, role or service-account type has a name, uid, uid_alt or email_addr';

export const ocsf = defineFormat({
  name: 'ocsf',
  parse: (payload) => Finding.safeParse(payload),
  detect: (payload) => 'class_uid' in payload,
  missingForDetection: (payload) =>
    ['finding_info', 'type_uid', 'category_uid'].some((key) => key in payload) ? ['class_uid'] : undefined,
  adapt(finding, context) {
    const subject = subjectOf(finding);
    if (!subject) return { kind: 'unusable', problems: [{ field: 'evidences', message: NO_PRINCIPAL }] };
    // Without a known identity system, the inventory decides which identity the principal is.
    const provider = context.provider ?? CLOUD_PROVIDERS.get(finding.cloud?.provider?.toLowerCase() ?? '');
    const [id, ...alsoKnownAs] = subject.names;
    const user = subject.user;
    const info = finding.finding_info;
    const score = finding.confidence_score;
    return {
      kind: 'alert',
      alsoKnownAs,
      alert: {
        id: `ocsf:${info.uid}`,
        source: sourceName(context, 'ocsf'),
        kind: kindFrom([...(info.types ?? []), info.title ?? ''].join(' '), KINDS, 'anomalous_usage'),
        severity: SEVERITY[finding.severity_id] ?? OCSF_DEFAULTS.severity,
        confidence:
          score !== undefined ? score / 100 : (CONFIDENCE[finding.confidence_id ?? 0] ?? OCSF_DEFAULTS.confidence),
        // The name is what identity systems' APIs take (IAM, PostgreSQL, Kubernetes); uid is kept.
        identity: { provider, id },
        observedAt: new Date(finding.time).toISOString(),
        summary: info.title,
        evidence: {
          format: 'ocsf',
          rawDigest: context.rawDigest,
          product: finding.metadata.product?.name,
          findingTypes: info.types,
          principalAt: subject.at,
          userUid: user?.uid,
          keyId: user?.credential_uid,
          account: finding.cloud?.account?.uid,
          resources: finding.resources?.slice(0, 20).map((r) => ({ uid: r.uid, type: r.type })),
        },
      },
    };
  },
});
