import { workflowInfo } from '@temporalio/workflow';
import { headlineOf, type CaseBrief } from '../src/domain/caseBrief';
import type { Case } from './case';

const SEVERITIES = ['critical', 'high', 'medium', 'low'];

/** The case as an approver needs it: state, what waits, why, who is hit (see src/domain/caseBrief.ts). */
export function caseBrief(c: Case, holdUntil: number | undefined): CaseBrief {
  const { status, ledger } = c;
  const alerts = ledger.alerts;
  const record = c.context?.record;
  const pending = c.gate.request;
  const planned = pending && status.plan?.stages.find((s) => s.stage === pending.stage);
  const base: Omit<CaseBrief, 'headline'> = {
    workflowId: workflowInfo().workflowId,
    identity: `${c.identity.provider}:${c.identity.id}`,
    stage: status.stage,
    outcome: status.outcome,
    waitingFor: status.waitingFor,
    rule: status.plan?.rule,
    reasons: status.plan?.reasons ?? [],
    alerts: {
      count: alerts.length,
      worstSeverity: SEVERITIES.find((s) => alerts.some((a) => a.severity === s)),
      kinds: [...new Set(alerts.map((a) => a.kind))],
      sources: [...new Set(alerts.map((a) => a.source))],
      topConfidence: alerts.length ? Math.max(...alerts.map((a) => a.confidence)) : undefined,
    },
    blastRadius: {
      known: record !== undefined,
      owner: record?.owner,
      consumers: record?.consumers ?? [],
      shared: record?.shared,
      environment: record?.environment,
      criticality: record?.criticality,
      class: record?.class,
    },
    request: pending && {
      ...pending,
      onTimeout: planned?.approval.onTimeout ?? 'hold',
      reversible: planned?.reversible ?? false,
    },
    attention: status.attention,
    holdUntil: holdUntil === undefined ? undefined : new Date(holdUntil).toISOString(),
  };
  return { headline: headlineOf(base), ...base };
}
