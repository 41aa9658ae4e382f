// Who may decide what, and how a decision is bound to one action of one case. Pure and zod-free:
// the workflow, the worker's guard and the intake all judge decisions with these.
import { digestOf } from '../digest';
import { redactText } from '../secrets/redact';
import type { Policy } from '../policy/schema';

/** The human inputs other than approvals: each is a decision, by someone the policy names. */
export type Control = 'false-positive' | 'pause' | 'resume';
export type KillSwitchAction = 'engage' | 'release';

/** Why a decision is refused, as a code a caller can act on (the API maps it to a status). */
export type RefusalCode =
  | 'invalid' // the payload is malformed
  | 'unverified' // verified mode, and nobody proved who decided
  | 'forbidden' // not in the groups that decide this
  | 'self-approval' // the identity's owner, and self-approval is off
  | 'stale' // no such request open (or it is another case's, or another action's)
  | 'decided' // the request is already approved or denied
  | 'repeat'; // this person already approved this request

export interface Refusal {
  code: RefusalCode;
  reason: string;
}

/** Who may make a control decision or move the kill switch, under `policy`. */
export function groupsFor(
  policy: Pick<Policy, 'approverGroups' | 'approvalDefaults' | 'decisions'>,
  what: Control | KillSwitchAction,
): string[] {
  // A policy stored before these settings existed (a case's carried context) has none: the defaults.
  const decisions: Partial<Policy['decisions']> = policy.decisions ?? {};
  const { approvalDefaults } = policy;
  switch (what) {
    case 'false-positive':
      return decisions.falsePositive ?? approvalDefaults.groups;
    case 'pause':
    case 'resume':
      return decisions.pause ?? approvalDefaults.groups;
    case 'engage':
      return decisions.killSwitch?.engage ?? Object.keys(policy.approverGroups);
    case 'release':
      return decisions.killSwitch?.release ?? approvalDefaults.groups;
  }
}

/** Why `actor` may not make this control decision, or undefined. The owner rule is the approvals' default. */
export function controlRefusal(
  policy: Pick<Policy, 'approverGroups' | 'approvalDefaults' | 'decisions'>,
  what: Control | KillSwitchAction,
  actor: string,
  owner?: string,
): Refusal | undefined {
  const groups = groupsFor(policy, what);
  const members = groups.flatMap((g) => policy.approverGroups[g] ?? []);
  if (!members.includes(actor))
    return { code: 'forbidden', reason: `${actor} is not in the groups that may ${what}: ${groups.join(', ')}` };
  if (owner !== undefined && actor === owner && !policy.approvalDefaults.selfApproval)
    return { code: 'self-approval', reason: `${actor} owns this identity and self-approval is off` };
  return undefined;
}

/** What an approval is bound to: the case, the identity, the stage, the action and the policy. */
export interface ActionKey {
  provider: string;
  identityId: string;
  /** The case's first run id: a later case of the same identity approves anew. */
  caseId: string;
  stage: string;
  action: string;
  policyDigest: string | undefined;
}

/** The digest an approval names; the worker recomputes it before it acts. */
export const actionDigestOf = (key: ActionKey): string => digestOf(key);

/** A request id unique across cases: the stage, the case's count, and the action digest's start. */
export function requestIdFor(stage: string, n: number, actionDigest: string): string {
  return `${stage}-${n}-${actionDigest.replace(/^sha256:/, '').slice(0, 10)}`;
}

/** The fields of a decision worth auditing, even of a refused one; nothing oversized, no credential. */
export function auditableDecisionFields(input: unknown): { requestId?: string; approver?: string; reason?: string } {
  const fields = input && typeof input === 'object' ? (input as Record<string, unknown>) : {};
  const text = (value: unknown) =>
    typeof value === 'string' && value.length > 0 && value.length <= 2000 ? redactText(value) : undefined;
  return { requestId: text(fields.requestId), approver: text(fields.approver), reason: text(fields.reason) };
}
