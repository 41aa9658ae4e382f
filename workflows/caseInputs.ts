// Every input a case takes. Handlers only record (and audit, accepted or refused); the playbook
// acts on what they recorded.
import { setHandler } from '@temporalio/workflow';
import { owaspReferences } from '../src/audit/frameworks';
import { checkOperatorAction } from '../src/domain/inputs';
import type { Case } from './case';
import { registerHumanDecisions } from './humanDecisions';
import {
  alertSignal,
  auditQuery,
  deliveryQuery,
  killSwitchReleasedSignal,
  retryCompensationsSignal,
  statusQuery,
  type AlertDelivery,
} from './definitions';

/** Records one alert delivery (also the start input's alert). */
export function receiveAlert(c: Case, input: unknown, delivery?: AlertDelivery): void {
  const disposition = c.ledger.receive(input, delivery);
  if (disposition === 'shed') return; // counted; reported with the case's next delivery
  const id = (input as { id?: unknown } | null)?.id;
  const alertIds = typeof id === 'string' ? [id] : [];
  if (disposition === 'rejected') {
    c.record({
      stage: c.status.stage,
      event: 'input.rejected',
      actor: 'forwarder',
      reason: c.ledger.rejected.at(-1)?.reason,
      alertIds,
    });
    return;
  }
  const recorded = c.ledger.alerts.find((a) => a.id === id)!;
  c.record({
    stage: c.status.stage,
    event: disposition === 'duplicate' ? 'alert.duplicate' : 'alert.received',
    actor: `forwarder:${recorded.source}`,
    alertIds,
    evidence: recorded.evidence ? [recorded.evidence] : [],
    frameworks: disposition === 'duplicate' ? [] : ['NIST CSF RS.MA-02', ...owaspReferences([recorded.kind])],
  });
}

function reject(c: Case, signal: string, reason: string): void {
  c.ledger.rejected.push({ reason: `${signal}: ${reason}` });
  c.record({ stage: c.status.stage, event: 'input.rejected', actor: 'unknown', reason: `${signal}: ${reason}` });
}

// retryCompensations and the kill switch's release: what restores or restarts what was allowed.
function registerOperatorInputs(c: Case): void {
  // Only a failed undo is retried: on a contained case this would lift the containment.
  setHandler(
    retryCompensationsSignal,
    (input) => {
      if (!c.saga.failed) return reject(c, 'retryCompensations', 'no undo has failed: nothing to retry');
      const checked = checkOperatorAction(input);
      if (!checked.ok) return reject(c, 'retryCompensations', 'payload must be {"by"?: "...", "reason"?: "..."}');
      const by = checked.value?.by ?? 'operator';
      c.retryRequestedBy = by;
      c.record({
        stage: c.status.stage,
        event: 'operator.retryCompensations',
        actor: by,
        reason: checked.value?.reason,
      });
    },
    { description: 'Retry undos that failed (after fixing their cause): {"by": "..."}' },
  );
  setHandler(killSwitchReleasedSignal, () => void (c.released = true), {
    description: 'Sent when the kill switch is released: a case it held tries its action again',
  });
}

/** Registers every signal, update and query handler of a case. */
export function registerCaseInputs(c: Case): void {
  setHandler(alertSignal, (alert, delivery) => receiveAlert(c, alert, delivery), {
    description: 'A native alert about this identity (JSON); repeated alert ids change nothing.',
  });
  registerHumanDecisions(c);
  registerOperatorInputs(c);
  setHandler(
    statusQuery,
    () => ({
      ...c.status,
      pendingRequest: c.gate.request,
      undelivered: c.outbox.undelivered(),
      shed: c.ledger.limits.shedTotals(),
    }),
    {
      description: 'Stage, outcome, plan, pending request, applied actions, compensations, alerts',
    },
  );
  setHandler(auditQuery, () => c.audit.entries, { description: "This run's hash-chained audit entries" });
  setHandler(deliveryQuery, (deliveryId) => c.ledger.dispositionOf(deliveryId), {
    description: 'What one alert delivery became (started, merged, duplicate, rejected)',
  });
}
