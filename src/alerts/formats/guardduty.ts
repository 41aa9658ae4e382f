import { z } from 'zod';
import type { AlertKind, Severity } from '../schema';
import { defineFormat, kindFrom, sourceName } from './types';

// An Amazon GuardDuty finding: inside the EventBridge event (`detail-type: GuardDuty Finding`)
// and in S3 exports its keys are camelCase; the API and CLI (GetFindings) write PascalCase.
// Both are read; errors name fields in the casing that was sent. Only IAM access-key findings
// name an identity.

const Finding = z.looseObject({
  schemaVersion: z.string().max(16),
  accountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
  region: z.string().min(1).max(32),
  id: z.string().min(1).max(128),
  type: z.string().min(1).max(200),
  severity: z.number().min(0).max(10),
  confidence: z.number().min(0).max(10).optional(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  title: z.string().max(1000).optional(),
  resource: z.looseObject({
    resourceType: z.string().min(1).max(64),
    accessKeyDetails: z
      .looseObject({
        accessKeyId: z.string().max(128).optional(),
        principalId: z.string().max(256).optional(),
        userName: z.string().min(1).max(256).optional(),
        userType: z.string().max(64).optional(),
      })
      .optional(),
  }),
  service: z.looseObject({ count: z.number().int().nonnegative().optional() }).optional(),
});
type Finding = z.infer<typeof Finding>;

const Envelope = z
  .looseObject({
    'detail-type': z.literal('GuardDuty Finding'),
    source: z.literal('aws.guardduty'),
    id: z.string().max(128).optional(),
    detail: Finding,
  })
  .transform((event) => event.detail);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEnvelope = (payload: unknown) => isObject(payload) && 'detail-type' in payload;
const lowerFirst = (key: string) => key.charAt(0).toLowerCase() + key.slice(1);
const upperFirst = (key: PropertyKey) => (typeof key === 'string' ? key.charAt(0).toUpperCase() + key.slice(1) : key);

// Input depth is bounded by the body decoder, so this recursion is too.
function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [lowerFirst(key), camelKeys(v)]));
}

function parse(payload: unknown) {
  const envelope = isEnvelope(payload);
  const finding = envelope ? (payload as Record<string, unknown>).detail : payload;
  const pascal = isObject(finding) && ('SchemaVersion' in finding || 'Resource' in finding);
  const result = envelope
    ? Envelope.safeParse({ ...(payload as object), detail: camelKeys(finding) })
    : Finding.safeParse(camelKeys(payload));
  if (!result.success && pascal) {
    for (const issue of result.error.issues as { path: PropertyKey[] }[]) {
      const [head, ...rest] = issue.path;
      issue.path = envelope
        ? head === 'detail'
          ? [head, ...rest.map(upperFirst)]
          : issue.path
        : issue.path.map(upperFirst);
    }
  }
  return result;
}

// GuardDuty severity levels: Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0.
function severityOf(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  return 'low';
}
/** Confidence of a finding that carries none (GuardDuty's `confidence` is 0-10 when present). */
export const GUARDDUTY_DEFAULT_CONFIDENCE = 0.8;

const KINDS: [RegExp, AlertKind][] = [
  [/InstanceCredentialExfiltration/, 'secret_leak'],
  [/^PrivilegeEscalation:/, 'privilege_escalation'],
  [/AnomalousBehavior/, 'anomalous_usage'],
  [/MaliciousIPCaller|TorIPCaller|ConsoleLoginSuccess/, 'token_abuse'],
  [/^(Policy|Stealth):/, 'policy_violation'],
];

export const guardduty = defineFormat({
  name: 'guardduty',
  parse,
  detect: (payload) =>
    isEnvelope(payload) ||
    (('schemaVersion' in payload || 'SchemaVersion' in payload) && ('resource' in payload || 'Resource' in payload)),
  missingForDetection(payload) {
    const version = 'schemaVersion' in payload || 'SchemaVersion' in payload;
    const resource = 'resource' in payload || 'Resource' in payload;
    if (version === resource) return undefined;
    return [version ? 'resource' : 'schemaVersion'];
  },
  adapt(finding: Finding, context) {
    const key = finding.resource.accessKeyDetails;
    if (!key?.userName) {
      return {
        kind: 'unusable',
        problems: [
          {
            field: 'resource.accessKeyDetails.userName',
            message: `the finding concerns a ${finding.resource.resourceType}, not an IAM identity`,
          },
        ],
      };
    }
    return {
      kind: 'alert',
      alert: {
        id: `guardduty:${finding.id}@${finding.updatedAt}`,
        source: sourceName(context, 'guardduty'),
        kind: kindFrom(finding.type, KINDS, 'anomalous_usage'),
        severity: severityOf(finding.severity),
        confidence: finding.confidence !== undefined ? finding.confidence / 10 : GUARDDUTY_DEFAULT_CONFIDENCE,
        identity: { provider: context.provider ?? 'aws-iam', id: key.userName },
        observedAt: finding.updatedAt,
        summary: finding.title,
        evidence: {
          format: 'guardduty',
          rawDigest: context.rawDigest,
          findingId: finding.id,
          type: finding.type,
          account: finding.accountId,
          region: finding.region,
          accessKeyId: key.accessKeyId,
          principalId: key.principalId,
          userType: key.userType,
          count: finding.service?.count,
        },
      },
    };
  },
});
