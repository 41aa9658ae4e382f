// Plays one step of a test's timeline against a real case: alerts the way the intake submits
// them, decisions the way the authenticated API (or, with `claimed`, a bare Temporal client)
// makes them, faults in the simulated identity system, and time on the test server's clock.
import type { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { clearFault, injectFault } from '../../activities/connectors/simulated/state';
import type { Alert } from '../alerts/schema';
import { submitAlert } from '../client/submitAlert';
import type { Database } from '../db';
import { recordDecision } from '../decisions/store';
import { containmentWorkflowId } from '../domain/case';
import { errorText } from '../domain/errors';
import { setKillSwitch } from '../killSwitch';
import { controlUpdate, decideUpdate, retryCompensationsSignal, statusQuery } from '../../workflows/definitions';
import type { LoadedStep } from './load';

/** What a test has running: the server, its database and worker queue, and the cases it opened. */
export interface TestRun {
  env: TestWorkflowEnvironment;
  /**
   * A client that never moves the server's clock: the environment's own skips time while it
   * waits for any result, which would fire timers of the test's other cases.
   */
  client: Client;
  db: Database;
  taskQueue: string;
  /** Workflow id → identity id, in the order the cases opened. */
  cases: Map<string, string>;
}

/** A step that did not do what it said (a decision with nothing to decide, a refusal not expected). */
export class StepFailed extends Error {}

/** The case a step is about: the one it names, else the test's first. */
export function caseOf(run: TestRun, ref: string | undefined): { workflowId: string; identityId: string } {
  if (ref) {
    const [provider, ...rest] = ref.split(':');
    const identityId = rest.join(':');
    return { workflowId: containmentWorkflowId({ provider, id: identityId }), identityId };
  }
  const [first] = run.cases;
  if (!first) throw new StepFailed('no case yet: send an alert first, or name the case with case: provider:id');
  return { workflowId: first[0], identityId: first[1] };
}

async function sendAlert(run: TestRun, alert: Alert): Promise<void> {
  // The time-skipping server has no custom search attributes.
  const { workflowId } = await submitAlert(run.client, run.taskQueue, alert, { searchAttributes: false });
  if (!run.cases.has(workflowId)) run.cases.set(workflowId, alert.identity.id);
}

/** What a decision step carries, whichever verb it has. */
interface DecisionStep {
  by: string;
  case?: string;
  reason?: string;
  claimed?: true;
  refused?: true | string;
}

// Sends a decision and holds it to what the step expects: accepted, or refused (with a phrase).
async function decide(step: DecisionStep, send: () => Promise<unknown>): Promise<void> {
  const refusal = await send().then(
    () => undefined,
    (err: unknown) => errorText(err),
  );
  if (refusal === undefined && step.refused) throw new StepFailed('expected the case to refuse this, it accepted it');
  if (refusal !== undefined && !step.refused) throw new StepFailed(`refused: ${refusal}`);
  if (refusal !== undefined && typeof step.refused === 'string' && !refusal.includes(step.refused))
    throw new StepFailed(`refused for another reason than "${step.refused}": ${refusal}`);
}

async function approval(run: TestRun, step: DecisionStep, decision: 'approve' | 'deny', stage: string) {
  const { workflowId } = caseOf(run, step.case);
  const handle = run.client.workflow.getHandle(workflowId);
  const request = (await handle.query(statusQuery)).pendingRequest;
  if (request?.stage !== stage)
    throw new StepFailed(
      `expected a pending approval for ${stage}, found ${request ? `one for ${request.stage}` : 'none'}`,
    );
  const { requestId, actionDigest } = request;
  const input = { decision, requestId, approver: step.by, reason: step.reason };
  await decide(step, async () => {
    if (step.claimed) return handle.executeUpdate(decideUpdate, { args: [input] });
    const decisionId = await recordDecision(run.db, {
      workflowId,
      kind: decision,
      requestId,
      actionDigest,
      actor: step.by,
      method: 'playbook-test',
      reason: step.reason,
    });
    return handle.executeUpdate(decideUpdate, { args: [{ ...input, actionDigest, decisionId }] });
  });
}

async function control(run: TestRun, step: DecisionStep, kind: 'false-positive' | 'pause' | 'resume') {
  const { workflowId } = caseOf(run, step.case);
  const handle = run.client.workflow.getHandle(workflowId);
  const input = { control: kind, by: step.by, reason: step.reason };
  await decide(step, async () => {
    if (step.claimed) return handle.executeUpdate(controlUpdate, { args: [input] });
    const decisionId = await recordDecision(run.db, {
      workflowId,
      kind,
      actor: step.by,
      method: 'playbook-test',
      reason: step.reason,
    });
    return handle.executeUpdate(controlUpdate, { args: [{ ...input, decisionId }] });
  });
}

/** Plays one step (not `expect`, which the runner checks itself). */
export async function playStep(run: TestRun, step: LoadedStep): Promise<void> {
  if ('alert' in step) return sendAlert(run, step.alert);
  if ('approve' in step) return approval(run, step, 'approve', step.approve);
  if ('deny' in step) return approval(run, step, 'deny', step.deny);
  if ('false-positive' in step) return control(run, { ...step, by: step['false-positive'] }, 'false-positive');
  if ('pause' in step) return control(run, { ...step, by: step.pause }, 'pause');
  if ('resume' in step) return control(run, { ...step, by: step.resume }, 'resume');
  if ('retry-compensations' in step) {
    const { workflowId } = caseOf(run, step.case);
    return run.client.workflow
      .getHandle(workflowId)
      .signal(retryCompensationsSignal, { by: step['retry-compensations'] });
  }
  if ('kill-switch' in step) {
    await setKillSwitch(run.db, run.client, {
      engaged: step['kill-switch'] === 'engage',
      by: step.by,
      reason: step.reason,
    });
    return;
  }
  if ('fault' in step)
    return injectFault(run.db, caseOf(run, step.case).identityId, step.fault, step.times ?? 'permanent');
  if ('clear-fault' in step) return clearFault(run.db, caseOf(run, step.case).identityId, step['clear-fault']);
  if ('after' in step) return run.env.sleep(step.after as Duration);
}
