import { allHandlersFinished, condition, sleep } from '@temporalio/workflow';
import { Case } from './case';
import { registerCaseInputs, receiveAlert } from './caseInputs';
import { continueCase, historyTooLong } from './continuation';
import type { ContainIdentityInput, ContainmentStatus } from './definitions';
import { rollBack } from './rollback';
import { forwardToShadowCase } from './shadowMode';
import { replan } from './replan';
import { PLAYBOOK } from './stages';
import { sealCase } from './auditTrail';
import { bookkeeping } from './steps';
import { errorText } from '../src/domain/errors';
import { isUnresolved, unresolvedReason } from '../src/domain/unresolved';

// A case that could not open tries again after this.
const OPEN_RETRY = '1 minute';

/**
 * Contains one identity, as the playbook reads: open the case, then observe, restrict, isolate,
 * wait out the verification window, revoke and rotate (the stages the policy plans), undoing
 * reversible steps on a false positive, and hold the case open for late evidence.
 */
export async function containIdentity(input: ContainIdentityInput): Promise<ContainmentStatus> {
  const c = new Case(input);
  registerCaseInputs(c);
  if (input.alert) receiveAlert(c, input.alert);
  await openCase(c, input);
  if (!c.shadow && c.context!.policy.shadow) return forwardToShadowCase(c, input.searchAttributes);
  do {
    await runPlaybook(c);
    await answerFalsePositive(c);
  } while (!c.settled && (await holdCase(c, input)) === 'reopened');
  await closeWhenQuiet(c);
  c.setStage('closed', c.status.outcome);
  await sealCase(c);
  return c.status;
}

// The first alert (or a false positive) opens the case: its context and the identity as found
// arrive in one activity, unless the intake handed the context over. A continued run keeps its
// context: a policy edit cannot strand it.
async function openCase(c: Case, input: ContainIdentityInput): Promise<void> {
  if (input.carried) return;
  await condition(() => c.ledger.alerts.length > 0 || c.falsePositive);
  if (input.context) return; // installed by the Case itself
  // A case that cannot open (the store down, a policy file that does not parse) says why and
  // tries again: the alert it holds is never dropped.
  for (;;) {
    const outbox = c.outbox.take();
    try {
      const opening = await bookkeeping.openCase({ identity: c.identity, outbox });
      c.settle(outbox, opening.receipt);
      c.opened(opening);
      if (c.status.outcome === 'needs-attention') c.setStage(c.status.stage, 'active');
      return;
    } catch (err) {
      c.outbox.putBack(outbox);
      if (c.status.outcome !== 'needs-attention') c.needsAttention(`the case cannot open: ${errorText(err)}`);
      await sleep(OPEN_RETRY);
    }
  }
}

// Runs the planned stages in order until the plan is done or stops (approval, failure, false positive).
async function runPlaybook(c: Case): Promise<void> {
  try {
    replan(c);
    for (let stage = c.nextStage(); stage && c.status.outcome === 'active' && !c.falsePositive; stage = c.nextStage()) {
      if (!(await PLAYBOOK[stage.stage](c, stage))) return;
      c.complete(stage.stage);
      replan(c);
    }
    if (c.status.outcome === 'active' && !c.falsePositive) {
      // An unresolved principal only observes: a human must say which identity it is.
      if (isUnresolved(c.identity))
        c.needsAttention(c.context?.unresolved ?? unresolvedReason(c.identity.id));
      else c.setStage('contained', 'contained');
    }
  } finally {
    // A request carried from the last run that the playbook stopped short of is no longer open.
    c.gate.withdrawCarried();
  }
}

// A false positive at any point leaves the identity as it was: every reversible step is undone.
async function answerFalsePositive(c: Case): Promise<void> {
  if (!c.falsePositivePending) return;
  c.settleFalsePositive();
  const { by, reason } = c.status.falsePositive!;
  await rollBack(c, by, reason ?? 'false positive', 'false-positive', {
    kind: 'false-positive',
    decisionId: c.falsePositiveDecisionId,
  });
}

/**
 * Keeps the case open for late evidence, a false positive or retried undos, then closes. While
 * an undo has failed it never closes on its own: a human must look. Stronger evidence reopens it
 * for a new round under the policy.
 */
async function holdCase(c: Case, input: ContainIdentityInput): Promise<'closed' | 'reopened'> {
  const until = c.holdDeadline();
  for (;;) {
    const wake = () => c.hasUnhandledInput() || c.retryRequestedBy !== undefined || historyTooLong(input);
    const timeout = c.saga.failed ? undefined : Math.max(0, until - Date.now());
    // At the deadline the case closes, unless input arrived meanwhile: that is handled first.
    if (!(await c.waitFor(wake, timeout)) && (await closeWhenQuiet(c)) === 'closed') return 'closed';
    if (c.falsePositivePending) return 'reopened';
    if (c.retryRequestedBy !== undefined) {
      const by = c.retryRequestedBy;
      c.retryRequestedBy = undefined;
      const outcome = c.falsePositive ? 'false-positive' : 'rolled-back';
      await rollBack(c, by, 'compensations retried', outcome, c.rollbackCause);
      if (c.settled) return 'closed';
      continue;
    }
    if (c.ledger.hasNew()) {
      if (reopens(c)) return 'reopened';
      continue;
    }
    // Input that arrived while handing over is handled here, not lost in the hand-over.
    await continueCase(c, input, () => !c.hasUnhandledInput() && c.retryRequestedBy === undefined);
  }
}

// Late evidence: a contained case escalates when it adds stages; a case that stopped short
// (rolled back, denied, held, aborted) starts a new round when the evidence is stronger.
function reopens(c: Case): boolean {
  const outcome = c.status.outcome;
  const stronger = replan(c);
  if (c.falsePositive || !stronger || outcome === 'needs-attention' || outcome === 'active') return false;
  if (outcome === 'contained') {
    if (!c.nextStage()) return false;
    c.setStage('escalated', 'active');
  } else c.newRound(`stronger evidence after the case was ${outcome}`);
  return true;
}

// Closing: in-flight handlers finish first; late input reopens the hold instead.
async function closeWhenQuiet(c: Case): Promise<'closed' | 'reopened'> {
  await c.finishDeliveries();
  await condition(allHandlersFinished);
  return c.hasUnhandledInput() ? 'reopened' : 'closed';
}
