// A real case whose policy's shadow switch is on performs nothing: it hands every alert it
// received to the identity's shadow case and closes. So no real case ever runs dry, and the first
// alert after the switch is turned off starts a real case, not a dry one left open.
import { allHandlersFinished, condition } from '@temporalio/workflow';
import { shadowWorkflowId } from '../src/domain/case';
import type { Case } from './case';
import type { ContainmentStatus } from './definitions';
import { sealCase } from './auditTrail';
import { bookkeeping } from './steps';

/** Forwards the case's alerts to its shadow case until none is left, then closes `forwarded`. */
export async function forwardToShadowCase(c: Case, searchAttributes?: boolean): Promise<ContainmentStatus> {
  const workflowId = shadowWorkflowId(c.identity);
  c.status.forwardedTo = workflowId;
  for (;;) {
    const alerts = c.ledger.takeNew();
    if (alerts.length) {
      await bookkeeping.forwardToShadowCase({ alerts, searchAttributes });
      c.record({
        stage: c.status.stage,
        event: 'alert.forwarded',
        actor: 'policy:shadow',
        reason: 'the policy runs every case in shadow mode',
        result: { workflowId },
        alertIds: alerts.map((a) => a.id),
      });
    }
    await c.flush();
    await condition(allHandlersFinished);
    // Alerts that arrived while forwarding are forwarded too, never dropped at the close.
    if (!c.ledger.hasNew()) break;
  }
  c.setStage('closed', 'forwarded');
  await sealCase(c);
  return c.status;
}
