// Every input a case takes. Handlers only record (and audit, accepted or refused); the playbook
// acts on what they recorded.
import { setHandler } from '@temporalio/workflow';
import { owaspReferences } from '../src/audit/frameworks';
import { checkFalsePositive, checkOperatorAction } from '../src/domain/inputs';
import type { Case } from './case';
import {
  alertSignal,
  approveSignal,
  auditQuery,
  decideUpdate,
  deliveryQuery,
  denySignal,
  falsePositiveSignal,
  killSwitchReleasedSignal,
  pauseSignal,
  resumeSignal,
  retryCompensationsSignal,
  statusQuery,
  type AlertDelivery,
} from './definitions';

/** Records one alert delivery (also the start input's alert). */
export function receiveAlert(c: Case, input: unknown, delivery?: AlertDelivery): void {
  const disposition = c.ledger.receive(input, delivery);
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

// pause, resume and retryCompensations: an optional {by, reason}, audited as operator.<name>.
function operatorInput(c: Case, name: string, apply: (by: string) => void) {
  return (input?: unknown) => {
    const checked = checkOperatorAction(input);
    if (!checked.ok) return reject(c, name, 'payload must be {"by"?: "...", "reason"?: "..."}');
    const by = checked.value?.by ?? 'operator';
    apply(by);
    c.record({ stage: c.status.stage, event: `operator.${name}`, actor: by, reason: checked.value?.reason });
  };
}

function declareFalsePositive(c: Case, input: unknown): void {
  const checked = checkFalsePositive(input);
  if (!checked.ok) return reject(c, 'falsePositive', 'needs {"by": "...", "reason"?: "..."}');
  if (c.falsePositive) return;
  c.status.falsePositive = checked.value;
  c.record({
    stage: c.status.stage,
    event: 'false-positive.declared',
    actor: checked.value.by,
    reason: checked.value.reason,
  });
}

// approve, deny and decide: one gate judges them all, for signals and the update alike.
function registerDecisions(c: Case): void {
  const { gate } = c;
  const shape = '{"requestId": "...", "approver": "...", "reason": "..."}';
  setHandler(approveSignal, (input) => void gate.decide(input, 'approve', 'signal'), {
    description: `Approve the pending request: ${shape}`,
  });
  setHandler(denySignal, (input) => void gate.decide(input, 'deny', 'signal'), {
    description: `Deny the pending request: ${shape}`,
  });
  setHandler(decideUpdate, (input) => gate.decide(input, input.decision, 'update'), {
    validator: (input) => {
      const refused =
        input?.decision === 'approve' || input?.decision === 'deny'
          ? gate.refusal(input)
          : '"decision" must be approve or deny';
      if (refused) throw new Error(refused);
    },
    description: 'Approve or deny the pending request; refused decisions are rejected synchronously.',
  });
}

// pause, resume, retryCompensations, falsePositive and the kill switch's release.
function registerOperatorInputs(c: Case): void {
  setHandler(falsePositiveSignal, (input) => declareFalsePositive(c, input), {
    description: 'Undo every reversible step: {"by": "...", "reason": "..."}',
  });
  setHandler(
    pauseSignal,
    operatorInput(c, 'pause', () => (c.status.paused = true)),
    { description: 'Hold every new action until resume: {"by": "...", "reason": "..."}' },
  );
  setHandler(
    resumeSignal,
    operatorInput(c, 'resume', () => (c.status.paused = false)),
    { description: 'Let actions run again: {"by": "..."}' },
  );
  const retry = operatorInput(c, 'retryCompensations', (by) => (c.retryRequestedBy = by));
  // Only a failed undo is retried: on a contained case this would lift the containment.
  setHandler(
    retryCompensationsSignal,
    (input) => (c.saga.failed ? retry(input) : reject(c, 'retryCompensations', 'no undo has failed: nothing to retry')),
    {
      description: 'Retry undos that failed (after fixing their cause): {"by": "..."}',
    },
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
  registerDecisions(c);
  registerOperatorInputs(c);
  setHandler(statusQuery, () => ({ ...c.status, pendingRequest: c.gate.request }), {
    description: 'Stage, outcome, plan, pending request, applied actions, compensations, alerts',
  });
  setHandler(auditQuery, () => c.audit.entries, { description: "This run's hash-chained audit entries" });
  setHandler(deliveryQuery, (deliveryId) => c.ledger.dispositionOf(deliveryId), {
    description: 'What one alert delivery became (started, merged, duplicate, rejected)',
  });
}
