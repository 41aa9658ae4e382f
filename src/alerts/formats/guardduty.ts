import { z } from 'zod';
import type { AlertKind, Severity } from '../schema';
import { defineFormat, kindFrom, sourceName } from './types';

// An Amazon GuardDuty finding, raw (GetFindings, S3 export) or inside the EventBridge event
// (`detail-type: GuardDuty Finding`). Only IAM access-key findings name an identity.

const Finding = z.looseObject({
  SchemaVersion: z.string().max(16),
  AccountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
  Region: z.string().min(1).max(32),
  Id: z.string().min(1).max(128),
  Type: z.string().min(1).max(200),
  Severity: z.number().min(0).max(10),
  Confidence: z.number().min(0).max(10).optional(),
  CreatedAt: z.iso.datetime({ offset: true }),
  UpdatedAt: z.iso.datetime({ offset: true }),
  Title: z.string().max(1000).optional(),
  Resource: z.looseObject({
    ResourceType: z.string().min(1).max(64),
    AccessKeyDetails: z
      .looseObject({
        AccessKeyId: z.string().max(128).optional(),
        PrincipalId: z.string().max(256).optional(),
        UserName: z.string().min(1).max(256).optional(),
        UserType: z.string().max(64).optional(),
      })
      .optional(),
  }),
  Service: z.looseObject({ Count: z.number().int().nonnegative().optional() }).optional(),
});
type Finding = z.infer<typeof Finding>;

const Envelope = z.looseObject({
  'detail-type': z.literal('GuardDuty Finding'),
  source: z.literal('aws.guardduty'),
  id: z.string().max(128).optional(),
  detail: Finding,
});

const isEnvelope = (payload: unknown) => typeof payload === 'object' && payload !== null && 'detail-type' in payload;

// GuardDuty severity levels: Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0.
function severityOf(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  return 'low';
}
/** Confidence of a finding that carries none (GuardDuty's `Confidence` is 0-10 when present). */
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
  parse: (payload) => (isEnvelope(payload) ? Envelope.transform((event) => event.detail) : Finding).safeParse(payload),
  detect: (payload) => isEnvelope(payload) || ('SchemaVersion' in payload && 'Resource' in payload),
  adapt(finding: Finding, context) {
    const key = finding.Resource.AccessKeyDetails;
    if (!key?.UserName) {
      return {
        kind: 'unusable',
        problems: [{ field: 'Resource.AccessKeyDetails.UserName', message: `the finding concerns a ${finding.Resource.ResourceType}, not an IAM identity` }],
      };
    }
    return {
      kind: 'alert',
      alert: {
        id: `guardduty:${finding.Id}@${finding.UpdatedAt}`,
        source: sourceName(context, 'guardduty'),
        kind: kindFrom(finding.Type, KINDS, 'anomalous_usage'),
        severity: severityOf(finding.Severity),
        confidence: finding.Confidence !== undefined ? finding.Confidence / 10 : GUARDDUTY_DEFAULT_CONFIDENCE,
        identity: { provider: context.provider ?? 'aws-iam', id: key.UserName },
        observedAt: finding.UpdatedAt,
        summary: finding.Title,
        evidence: {
          format: 'guardduty',
          rawDigest: context.rawDigest,
          findingId: finding.Id,
          type: finding.Type,
          account: finding.AccountId,
          region: finding.Region,
          accessKeyId: key.AccessKeyId,
          principalId: key.PrincipalId,
          userType: key.UserType,
          count: finding.Service?.Count,
        },
      },
    };
  },
});
