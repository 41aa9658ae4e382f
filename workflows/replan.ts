import { escalatePlan, plan as planFor } from '../src/policy/plan';
import type { Case } from './case';

const SEVERITY_RANK = { low: 0, medium: 1, high: 2, critical: 3 } as const;

/**
 * Folds newly received alerts into the plan (stages are only ever added). Returns whether the
 * evidence is stronger than before: a stage added or gated, or a higher severity or confidence.
 */
export function replan(c: Case): boolean {
  const fresh = c.ledger.takeNew();
  if (!fresh.length || !c.context) return false;
  const earlier = c.ledger.alerts.filter((a) => !fresh.some((f) => f.id === a.id));
  const worst = Math.max(...earlier.map((a) => SEVERITY_RANK[a.severity]));
  const surest = Math.max(...earlier.map((a) => a.confidence));
  let stronger = false;
  for (const alert of fresh) {
    const next = planFor(alert, c.context.record, c.context.policy);
    stronger ||= earlier.length > 0 && (SEVERITY_RANK[alert.severity] > worst || alert.confidence > surest);
    if (!c.status.plan) {
      c.status.plan = next;
      c.record({
        stage: c.status.stage,
        event: 'plan.created',
        actor: `policy:${next.rule}`,
        reason: next.reasons.join('; '),
        result: { rule: next.rule, stages: next.stages.map((s) => s.stage) },
        alertIds: [alert.id],
      });
      continue;
    }
    const escalated = escalatePlan(c.status.plan, next);
    c.status.plan = escalated.plan;
    if (escalated.added.length || escalated.gated.length) {
      stronger = true;
      c.record({
        stage: c.status.stage,
        event: 'plan.escalated',
        actor: `policy:${next.rule}`,
        reason: `alert ${alert.id}`,
        result: { added: escalated.added, gated: escalated.gated },
        alertIds: [alert.id],
      });
    }
  }
  c.updateSearchIndex();
  return stronger;
}
