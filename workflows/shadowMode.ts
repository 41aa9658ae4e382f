// Shadow mode (dry runs): a shadow case runs the whole story — plan, approvals, timers, governor,
// notifications, rollbacks — but every provider action and undo becomes a "would do" audit
// entry. Only taken when a case is a shadow case (or its policy's switch is on), so real cases'
// histories are unchanged.
import { allHandlersFinished, condition } from '@temporalio/workflow';
import { digestOf } from '../src/digest';
import type { PlannedStage } from '../src/policy/plan';
import { bookkeeping, identitySystem } from './activities';
import type { AlertLedger } from './alertLedger';
import type { AuditTrail } from './auditTrail';
import type { Containment } from './containment';
import { shadowWorkflowId, type ContainIdentityInput, type ContainmentStatus, type Outcome, type ShadowedAction } from './definitions';
import { Saga, type Compensation } from './saga';

/** Marks a case's status as a dry run (idempotent: a continued run carries the marks). */
export function markShadow(status: ContainmentStatus): void {
  status.shadow = true;
  status.wouldDo ??= [];
}

/** A shadow case's compensation stack: undos are registered as usual, and recorded, never run. */
export class ShadowSaga extends Saga {
  constructor(
    target: { provider: string; identityId: string; caseId?: string },
    audit: AuditTrail,
    compensations: Compensation[] | undefined,
    private readonly wouldDo: (action: ShadowedAction) => void,
  ) {
    super(target, audit, compensations);
  }

  override async unwind(actor: string, reason: string): Promise<boolean> {
    for (const entry of [...this.compensations].reverse()) {
      if (entry.state === 'done') continue;
      entry.state = 'done';
      this.wouldDo({ stage: entry.stage, action: `undo:${entry.action}`, decidedBy: actor });
      this.audit.record({ stage: entry.stage, event: 'compensation.shadowed', actor, reason, action: `undo:${entry.action}`, compensationRef: entry.ref, result: { performed: false } });
    }
    return true;
  }
}

/** What `actInShadow` works with: the case's pieces, as `containIdentity` holds them. */
export interface ShadowActDeps {
  target: { provider: string; identityId: string; caseId?: string };
  status: ContainmentStatus;
  audit: AuditTrail;
  saga: Saga;
  ledger: AlertLedger;
}

/**
 * A shadow case's `act`: reads the identity's real state where its provider is configured,
 * registers the undo a real run would, and records what it would do instead of doing it.
 */
export async function actInShadow(stage: PlannedStage, decidedBy: string, { target, status, audit, saga, ledger }: ShadowActDeps): Promise<boolean> {
  const { action } = stage;
  // A dry run goes on without the snapshot: an unconfigured provider is a normal case for it.
  let unavailable: string | undefined;
  const before = await identitySystem.snapshotIdentity(target).catch((err: Error) => {
    unavailable = (err.cause as Error | undefined)?.message ?? err.message;
    return undefined;
  });
  status.snapshot ??= before;
  audit.record({ stage: stage.stage, event: 'evidence.captured', actor: 'cordon', reason: unavailable, result: { snapshot: before ? digestOf(before) : 'unavailable' } });
  const undo = stage.reversible ? saga.register(stage.stage, action as Compensation['action']) : undefined;
  status.wouldDo!.push({ stage: stage.stage, action, decidedBy });
  audit.record({
    stage: stage.stage,
    event: 'action.shadowed',
    actor: decidedBy,
    action,
    reason: 'shadow mode: not performed',
    result: {
      performed: false,
      reversible: stage.reversible,
      requiresApproval: stage.requiresApproval,
      plan: { rule: status.plan?.rule, policyDigest: status.plan?.policyDigest },
    },
    compensationRef: undo?.ref,
    alertIds: ledger.alerts.map((a) => a.id),
  });
  return true;
}

/**
 * A real case whose policy's shadow switch is on performs nothing: it hands every alert it
 * received to the identity's shadow case and closes. So no real case ever runs dry, and the
 * first alert after the switch is turned off starts a real case, not a dry one left open.
 */
export async function forwardToShadowCase(
  c: Containment,
  ledger: AlertLedger,
  audit: AuditTrail,
  input: ContainIdentityInput,
  setStage: (stage: string, outcome: Outcome) => void,
): Promise<ContainmentStatus> {
  const workflowId = shadowWorkflowId(input.identity);
  c.status.forwardedTo = workflowId;
  for (;;) {
    const alerts = ledger.takeNew();
    if (alerts.length) {
      await bookkeeping.forwardToShadowCase({ alerts, searchAttributes: input.searchAttributes });
      audit.record({ stage: c.status.stage, event: 'alert.forwarded', actor: 'policy:shadow', reason: 'the policy runs every case in shadow mode', result: { workflowId }, alertIds: alerts.map((a) => a.id) });
    }
    await c.drainAudit();
    await condition(allHandlersFinished);
    // Alerts that arrived while forwarding are forwarded too, never dropped at the close.
    if (!ledger.hasNew()) break;
  }
  setStage('closed', 'forwarded');
  return c.status;
}
