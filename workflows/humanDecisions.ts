// Every human decision a case takes: approve, deny and the `decide` update; false positive, pause
// and resume and the `control` update. One rule for each, whatever path it came by: the person
// must be in the groups the policy names, not the identity's owner where self-approval is off,
// and in `verified` mode proven. A decision is proven when the authenticated intake recorded it
// in the store and the case finds it there; a name in a signal is only ever a claim.
import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import { controlRefusal, type Control, type Refusal } from '../src/domain/decisions';
import { checkFalsePositive, checkOperatorAction } from '../src/domain/inputs';
import { redactText } from '../src/secrets/redact';
import type { Proof } from './approvalGate';
import type { Case } from './case';
import {
  approveSignal,
  controlUpdate,
  decideUpdate,
  denySignal,
  falsePositiveSignal,
  pauseSignal,
  resumeSignal,
  type ControlInput,
  type ControlResult,
} from './definitions';
import { bookkeeping } from './steps';

const field = (input: unknown, name: string): unknown =>
  input && typeof input === 'object' ? (input as Record<string, unknown>)[name] : undefined;
// Text from a claim, fit to show and audit: bounded, and any credential in it fingerprinted.
const text = (value: unknown) =>
  typeof value === 'string' && value.length > 0 && value.length <= 200 ? redactText(value) : undefined;

// Looks up a decision the intake says it recorded; undefined when none matches this case.
async function proofOf(decisionId: unknown, kind: string, requestId?: unknown, actionDigest?: unknown) {
  const id = text(decisionId);
  if (!id) return undefined;
  const found = await bookkeeping.confirmDecision({
    decisionId: id,
    kind,
    requestId: text(requestId),
    actionDigest: text(actionDigest),
  });
  return found ? ({ approver: found.actor, method: found.method, decisionId: id } satisfies Proof) : undefined;
}

// An update's refusal: already audited and in status; the caller reads it as non-retryable.
function refuseUpdate(refusal: Refusal): never {
  throw ApplicationFailure.create({
    type: 'DecisionRefused',
    message: refusal.reason,
    nonRetryable: true,
    details: [refusal.code],
  });
}

function registerApprovals(c: Case): void {
  const { gate } = c;
  const shape = '{"requestId": "...", "actionDigest": "...", "approver": "...", "reason": "..."}';
  const bySignal = (input: unknown, decision: 'approve' | 'deny') => {
    gate.decide(input, decision, 'signal');
    c.refreshDetails();
  };
  setHandler(approveSignal, (input) => bySignal(input, 'approve'), {
    description: `Approve the pending request (a claim: in verified mode it does not count): ${shape}`,
  });
  setHandler(denySignal, (input) => bySignal(input, 'deny'), {
    description: `Deny the pending request (a claim: in verified mode it does not count): ${shape}`,
  });
  setHandler(
    decideUpdate,
    async (input) => {
      const decision = field(input, 'decision');
      if (decision !== 'approve' && decision !== 'deny') {
        const refusal: Refusal = { code: 'invalid', reason: 'invalid decision: decision must be approve or deny' };
        c.refuseInput('decide', refusal, text(field(input, 'approver')));
        refuseUpdate(refusal);
      }
      const decisionId = field(input, 'decisionId');
      const proof = await proofOf(decisionId, decision, field(input, 'requestId'), field(input, 'actionDigest'));
      if (decisionId !== undefined && !proof) {
        const refusal: Refusal = {
          code: 'unverified',
          reason: `decision ${text(decisionId) ?? '(invalid id)'} is not on record for this request`,
        };
        c.refuseInput(decision, refusal, text(field(input, 'approver')));
        refuseUpdate(refusal);
      }
      const result = gate.decide(input, decision, proof ? 'api' : 'update', proof);
      c.refreshDetails();
      if (!result.accepted) refuseUpdate(result);
      return result;
    },
    {
      description: `Approve or deny the pending request, answered at once: {"decision": "approve"|"deny", ...${shape}}`,
    },
  );
}

/** Why `actor` may not make this control decision now, or undefined. */
function controlRefusalFor(c: Case, control: Control, actor: string, proven: boolean): Refusal | undefined {
  const { policy, record } = c.context!;
  if (!proven && policy.decisions?.mode === 'verified')
    return {
      code: 'unverified',
      reason: `unverified claim by "${actor.slice(0, 100)}": in verified mode only the decision API and signed chat callbacks count`,
    };
  return controlRefusal(policy, control, actor, record?.owner);
}

// A control decision is judged under the case's policy: one that arrives before the case opened
// (with its first alert) waits for it, rather than being refused for want of a policy.
const untilOpened = (c: Case) => condition(() => c.context !== undefined);

/** Applies a control decision by `by` (proven or claimed); a refused one is audited and shown in status. */
function applyControl(c: Case, control: Control, by: string, reason: string | undefined, proof?: Proof): ControlResult {
  const refusal = controlRefusalFor(c, control, proof?.approver ?? by, proof !== undefined);
  if (refusal) {
    c.refuseInput(control, refusal, by);
    return { accepted: false, ...refusal };
  }
  const actor = proof?.approver ?? by;
  const verification = proof
    ? { verified: true, method: proof.method, decisionId: proof.decisionId }
    : { verified: false };
  if (control === 'false-positive') {
    if (!c.falsePositive) {
      c.status.falsePositive = { by: actor, reason };
      c.falsePositiveDecisionId = proof?.decisionId;
      c.record({ stage: c.status.stage, event: 'false-positive.declared', actor, reason, result: verification });
    }
  } else {
    c.status.paused = control === 'pause';
    c.record({ stage: c.status.stage, event: `operator.${control}`, actor, reason, result: verification });
  }
  return { accepted: true, control };
}

function registerControls(c: Case): void {
  setHandler(
    falsePositiveSignal,
    async (input) => {
      const checked = checkFalsePositive(input);
      if (!checked.ok)
        return c.refuseInput('false-positive', { code: 'invalid', reason: 'needs {"by": "...", "reason"?: "..."}' });
      await untilOpened(c);
      applyControl(c, 'false-positive', checked.value.by, checked.value.reason);
    },
    {
      description:
        'Undo every reversible step (a claim: in verified mode it does not count): {"by": "...", "reason": "..."}',
    },
  );
  for (const [signal, control] of [
    [pauseSignal, 'pause'],
    [resumeSignal, 'resume'],
  ] as const) {
    setHandler(
      signal,
      async (input) => {
        const checked = checkOperatorAction(input);
        if (!checked.ok || !checked.value?.by)
          return c.refuseInput(control, { code: 'invalid', reason: 'needs {"by": "...", "reason"?: "..."}' });
        await untilOpened(c);
        applyControl(c, control, checked.value.by, checked.value.reason);
      },
      {
        description: `${control === 'pause' ? 'Hold every new action until resume' : 'Let actions run again'}: {"by": "...", "reason": "..."}`,
      },
    );
  }
  setHandler(
    controlUpdate,
    async (input: ControlInput) => {
      const control = field(input, 'control');
      const by = text(field(input, 'by'));
      if ((control !== 'false-positive' && control !== 'pause' && control !== 'resume') || !by) {
        const refusal: Refusal = {
          code: 'invalid',
          reason: 'needs {"control": "false-positive"|"pause"|"resume", "by": "..."}',
        };
        c.refuseInput('control', refusal, by);
        refuseUpdate(refusal);
      }
      const decisionId = field(input, 'decisionId');
      const proof = await proofOf(decisionId, control);
      if (decisionId !== undefined && !proof) {
        const refusal: Refusal = {
          code: 'unverified',
          reason: `decision ${text(decisionId) ?? '(invalid id)'} is not on record for this case`,
        };
        c.refuseInput(control, refusal, by);
        refuseUpdate(refusal);
      }
      const reason = typeof input.reason === 'string' ? redactText(input.reason.slice(0, 2000)) : undefined;
      await untilOpened(c);
      const result = applyControl(c, control, by, reason, proof);
      if (!result.accepted) refuseUpdate(result);
      return result;
    },
    {
      description:
        'Declare a false positive, pause or resume, answered at once: {"control": ..., "by": "...", "reason": "..."}',
    },
  );
}

/** Registers the handlers of every human decision. */
export function registerHumanDecisions(c: Case): void {
  registerApprovals(c);
  registerControls(c);
}
