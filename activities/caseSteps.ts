// The durable steps of a containment case: one activity per state-changing step. Each guards,
// captures, acts, checks and delivers what the case queued, so a provider action costs one
// round trip, not five.
import { ApplicationFailure } from '@temporalio/activity';
import type { IdentityRef } from '../src/alerts/schema';
import type { AuditNotary } from '../src/audit/checkpoints';
import type { Database } from '../src/db';
import {
  isShadowWorkflowId,
  StepFailure,
  type ActionOutcome,
  type ActionStep,
  type CaseOpening,
  type IdentityTarget,
  type Notice,
  type Outbox,
  type OutboxReceipt,
  type SnapshotReading,
  type UndoOutcome,
  type UndoStep,
} from '../src/domain/case';
import { recordOf } from '../src/inventory/resolve';
import type { Logger } from '../src/log';
import type { Policy } from '../src/policy/schema';
import type { Connector } from './connectors/types';
import { approvalRefusal, clearAction, identityRefusal, policyRefusal, undoRefusal } from './guard';
import { deliverOutbox, storeAuditEntries } from './outbox';
import { caseExecution, idempotencyKey, stepTools } from './stepTools';
import type { TrustedConfig } from './trustedConfig';

// The stricter of the worker's current policy and the case's: turning verified mode on applies to open cases.
const verifiedMode = (...policies: (Policy | undefined)[]) => policies.some((p) => p?.decisions?.mode === 'verified');

/** What the case steps need from the worker. */
export interface CaseStepDeps {
  db: Database;
  /** Signs the chain heads the steps store; without it entries are stored unsigned. */
  notary?: AuditNotary;
  connectors: Map<string, Connector>;
  config: TrustedConfig;
  sendNotice: (notice: Notice, timeoutMs: number) => Promise<void>;
  logger: Logger;
}

/** Creates the case's step activities. */
export function createCaseSteps({ db, notary, connectors, config, sendNotice, logger }: CaseStepDeps) {
  const deliver = (outbox: Outbox): Promise<OutboxReceipt> => deliverOutbox(db, notary, sendNotice, logger, outbox);
  const tools = stepTools(db, connectors);

  function refused(reason: string, outbox: Outbox) {
    logger.warn({ workflowId: caseExecution().workflowId, reason }, 'step refused: nothing done');
    return deliver(outbox).then((receipt) => ({ status: 'refused' as const, reason, receipt }));
  }

  // Checks the post-condition and reports the action: from the first attempt's kept result, so a
  // retry (a check that could not reach the system, a lost answer) reports what was done.
  async function applied(
    step: ActionStep,
    reading: SnapshotReading,
    result: { changed: boolean; detail: Record<string, unknown> },
  ): Promise<ActionOutcome> {
    const { target } = step;
    const verified = await tools.connectorFor(target.provider).verify(target.identityId, step.action, target.caseId);
    return {
      status: 'applied',
      changed: result.changed,
      detail: result.detail,
      verified,
      reading,
      receipt: await deliver(step.outbox),
    };
  }

  // The guard: the workflow id, the case's policy, the worker's plan, then the switch and budget.
  async function guard(step: ActionStep, workflowId: string): Promise<ActionOutcome | undefined> {
    const now = await config.policy();
    const policy = await config.policyForCase(step.target.caseId, step.policyDigest, now);
    const refusal =
      identityRefusal(workflowId, step.target) ??
      policyRefusal(step, policy, config.inventory()) ??
      (await approvalRefusal(db.query, step, verifiedMode(now.policy, policy), workflowId));
    if (refusal) return refused(refusal, step.outbox);
    tools.actionOf(step.target.provider, step.action); // an action the connector lacks claims nothing
    const { budget } = now.policy.governor;
    const destructive = budget.stages.includes(step.stage);
    const claim = {
      claimId: idempotencyKey(),
      workflowId,
      stage: step.stage,
      approved: step.authority.by === 'approvers',
      ...(destructive && { budget }),
    };
    const clearance = await clearAction(db, claim);
    return clearance === 'go' ? undefined : { status: clearance, receipt: await deliver(step.outbox) };
  }

  return {
    /** Opens a case in one round trip: the worker's policy, the identity's record, the identity as found. */
    async openCase({
      identity,
      outbox,
    }: {
      identity: IdentityRef;
      outbox: Outbox;
    }): Promise<CaseOpening & { receipt: OutboxReceipt }> {
      const { policy, digest } = await config.policy();
      // Only a case's first run opens it: its run id is the case id.
      await config.bind(caseExecution().runId, digest);
      const found = recordOf(config.inventory(), identity);
      const reading = connectors.has(identity.provider)
        ? await tools.read({ provider: identity.provider, identityId: identity.id, caseId: '' })
        : { unavailable: `no connector registered for provider "${identity.provider}"` };
      return { policy, ...found, reading, receipt: await deliver(outbox) };
    },

    /** Guards, captures, acts, checks the post-condition and delivers the outbox: one provider action. */
    async actOnIdentity(step: ActionStep): Promise<ActionOutcome> {
      const { workflowId } = caseExecution();
      const { target } = step;
      // An earlier attempt that acted is reported, whatever the switch or the files say now.
      const earlier = await tools.earlierResult(target);
      if (earlier) return applied(step, await tools.evidenceBefore(target, false), earlier);
      const stopped = await guard(step, workflowId);
      if (stopped) return stopped;
      const shadow = isShadowWorkflowId(workflowId);
      const reading = await tools.evidenceBefore(target, shadow);
      if (shadow) return { status: 'shadowed', reading, receipt: await deliver(step.outbox) };
      const run = () =>
        tools
          .actionOf(target.provider, step.action)
          .run({ identityId: target.identityId, idempotencyKey: idempotencyKey(), caseId: target.caseId });
      return applied(step, reading, await tools.actOnce(target, run));
    },

    /** Undoes one earlier action (idempotent, safe when it never took effect); throws when it fails. */
    async undoAction(step: UndoStep): Promise<UndoOutcome> {
      const { workflowId } = caseExecution();
      const refusal =
        identityRefusal(workflowId, step.target) ??
        (await undoRefusal(db.query, step, verifiedMode((await config.policy()).policy), workflowId));
      if (refusal) return refused(refusal, step.outbox);
      const clearance = await clearAction(db, {
        claimId: idempotencyKey(),
        workflowId,
        stage: 'rollback',
        approved: true,
      });
      if (clearance !== 'go') return { status: 'kill-switch', receipt: await deliver(step.outbox) };
      const after = async () => (step.snapshotAfter ? tools.read(step.target) : undefined);
      if (isShadowWorkflowId(workflowId))
        return { status: 'shadowed', after: await after(), receipt: await deliver(step.outbox) };
      const action = tools.actionOf(step.target.provider, step.action);
      if (!action.undo) {
        throw ApplicationFailure.create({
          type: StepFailure.UnsupportedAction,
          message: `"${step.action}" on provider "${step.target.provider}" cannot be undone`,
          nonRetryable: true,
        });
      }
      const result = await action.undo({
        identityId: step.target.identityId,
        idempotencyKey: idempotencyKey(),
        caseId: step.target.caseId,
      });
      return {
        status: 'undone',
        changed: result.changed,
        detail: result.detail,
        after: await after(),
        receipt: await deliver(step.outbox),
      };
    },

    /** The identity as it is now (evidence for a case that has not read it, or after a rollback). */
    async readIdentity({
      target,
      outbox,
    }: {
      target: IdentityTarget;
      outbox: Outbox;
    }): Promise<{ reading: SnapshotReading; receipt: OutboxReceipt }> {
      return { reading: await tools.read(target), receipt: await deliver(outbox) };
    },

    /**
     * Delivers what a case queued before it waits. Unlike the steps, a store that cannot be
     * written fails this activity, so it is retried: the case has nothing else to do meanwhile.
     */
    async deliverOutbox(outbox: Outbox): Promise<OutboxReceipt> {
      await storeAuditEntries(db, outbox.audit, notary, caseExecution().workflowId);
      return deliver({ audit: [], notices: outbox.notices });
    },
  };
}
