// The durable steps of a containment case: one activity per state-changing step. Each guards,
// captures, acts, checks and delivers what the case queued, so a provider action costs one
// round trip, not five.
import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import type { Database } from '../src/db';
import {
  isShadowWorkflowId,
  StepFailure,
  type ActionName,
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
import type { IdentityRef } from '../src/alerts/schema';
import { findIdentity } from '../src/inventory';
import type { Logger } from '../src/log';
import { capture } from './connectors/captures';
import type { Connector } from './connectors/types';
import { clearAction, identityRefusal, policyRefusal } from './guard';
import { deliverOutbox, storeAuditEntries } from './outbox';
import type { TrustedConfig } from './trustedConfig';

/** What the case steps need from the worker. */
export interface CaseStepDeps {
  db: Database;
  connectors: Map<string, Connector>;
  config: TrustedConfig;
  sendNotice: (notice: Notice) => Promise<void>;
  logger: Logger;
}

const errorText = (err: unknown) => ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;

// The workflow this activity runs for: the only identity claim the guard takes from Temporal.
function caseExecution(): { workflowId: string; runId: string } {
  const execution = activityInfo().workflowExecution;
  if (!execution)
    throw ApplicationFailure.create({
      type: 'NotACase',
      message: 'a case step must run for a workflow',
      nonRetryable: true,
    });
  return execution;
}

// Retries of one activity share the key; a new activity (or a compensation) gets its own.
function idempotencyKey(): string {
  const { workflowId, runId } = caseExecution();
  return `${workflowId}/${runId}/${activityInfo().activityId}`;
}

/** Creates the case's step activities. */
export function createCaseSteps({ db, connectors, config, sendNotice, logger }: CaseStepDeps) {
  const deliver = (outbox: Outbox): Promise<OutboxReceipt> => deliverOutbox(db, sendNotice, logger, outbox);

  function connectorFor(provider: string): Connector {
    const connector = connectors.get(provider);
    if (connector) return connector;
    throw ApplicationFailure.create({
      type: StepFailure.UnknownProvider,
      message: `no connector registered for provider "${provider}"`,
      nonRetryable: true,
    });
  }

  function actionOf(provider: string, name: ActionName) {
    const action = connectorFor(provider).actions[name];
    if (action) return action;
    throw ApplicationFailure.create({
      type: StepFailure.UnsupportedAction,
      message: `provider "${provider}" has no "${name}" action`,
      nonRetryable: true,
    });
  }

  // The identity as found: a reading that fails says why instead (evidence is never a precondition).
  async function read(target: IdentityTarget): Promise<SnapshotReading> {
    try {
      return { snapshot: await connectorFor(target.provider).snapshot(target.identityId) };
    } catch (err) {
      return { unavailable: errorText(err) };
    }
  }

  // The evidence before an action, taken before its first attempt: a retry must not record the
  // state its own earlier attempt changed. A real case does not act on an identity it cannot
  // read (the failure is retried like the action's own); a dry run goes on without it.
  async function evidenceBefore(target: IdentityTarget, shadow: boolean): Promise<SnapshotReading> {
    const key = {
      provider: target.provider,
      identityId: target.identityId,
      caseId: target.caseId,
      action: `evidence:${idempotencyKey()}`,
    };
    if (shadow) {
      const reading = await read(target);
      return 'snapshot' in reading ? { snapshot: await capture(db, key, async () => reading.snapshot) } : reading;
    }
    return { snapshot: await capture(db, key, () => connectorFor(target.provider).snapshot(target.identityId)) };
  }

  function refused(reason: string, outbox: Outbox) {
    logger.warn({ workflowId: caseExecution().workflowId, reason }, 'step refused: nothing done');
    return deliver(outbox).then((receipt) => ({ status: 'refused' as const, reason, receipt }));
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
      const { policy } = await config.policy();
      const record = findIdentity(config.inventory(), identity);
      const reading = connectors.has(identity.provider)
        ? await read({ provider: identity.provider, identityId: identity.id, caseId: '' })
        : { unavailable: `no connector registered for provider "${identity.provider}"` };
      return { policy, record, reading, receipt: await deliver(outbox) };
    },

    /** Guards, captures, acts, checks the post-condition and delivers the outbox: one provider action. */
    async actOnIdentity(step: ActionStep): Promise<ActionOutcome> {
      const { workflowId } = caseExecution();
      const accepted = await config.acceptedPolicy(step.policyDigest);
      const refusal = identityRefusal(workflowId, step.target) ?? policyRefusal(step, accepted, config.inventory());
      if (refusal) return refused(refusal, step.outbox);
      const { budget } = (await config.policy()).policy.governor;
      const claim = {
        claimId: idempotencyKey(),
        workflowId,
        stage: step.stage,
        approved: step.authority.by === 'approvers',
        destructive: budget.stages.includes(step.stage),
        budget,
      };
      const clearance = await clearAction(db, claim);
      if (clearance !== 'go') return { status: clearance, receipt: await deliver(step.outbox) };
      const shadow = isShadowWorkflowId(workflowId);
      const reading = await evidenceBefore(step.target, shadow);
      if (shadow) return { status: 'shadowed', reading, receipt: await deliver(step.outbox) };
      const { target } = step;
      // The result is kept before anything else can fail: a retry (say, of a post-condition
      // check that could not reach the system) reports what the first attempt did.
      const resultKey = {
        provider: target.provider,
        identityId: target.identityId,
        caseId: target.caseId,
        action: `result:${idempotencyKey()}`,
      };
      const result = await capture(db, resultKey, () =>
        actionOf(target.provider, step.action).run({
          identityId: target.identityId,
          idempotencyKey: idempotencyKey(),
          caseId: target.caseId,
        }),
      );
      const verified = await connectorFor(target.provider).verify(target.identityId, step.action, target.caseId);
      return {
        status: 'applied',
        changed: result.changed,
        verified,
        detail: result.detail,
        reading,
        receipt: await deliver(step.outbox),
      };
    },

    /** Undoes one earlier action (idempotent, safe when it never took effect); throws when it fails. */
    async undoAction(step: UndoStep): Promise<UndoOutcome> {
      const { workflowId } = caseExecution();
      const refusal = identityRefusal(workflowId, step.target);
      if (refusal) return refused(refusal, step.outbox);
      const budget = (await config.policy()).policy.governor.budget;
      const clearance = await clearAction(db, {
        claimId: idempotencyKey(),
        workflowId,
        stage: 'rollback',
        approved: true,
        destructive: false,
        budget,
      });
      if (clearance !== 'go') return { status: 'kill-switch', receipt: await deliver(step.outbox) };
      const after = async () => (step.snapshotAfter ? read(step.target) : undefined);
      if (isShadowWorkflowId(workflowId))
        return { status: 'shadowed', after: await after(), receipt: await deliver(step.outbox) };
      const action = actionOf(step.target.provider, step.action);
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

    /** The identity as it is now (a rollback that had nothing left to undo checks it this way). */
    async readIdentity({
      target,
      outbox,
    }: {
      target: IdentityTarget;
      outbox: Outbox;
    }): Promise<{ reading: SnapshotReading; receipt: OutboxReceipt }> {
      return { reading: await read(target), receipt: await deliver(outbox) };
    },

    /**
     * Delivers what a case queued before it waits. Unlike the steps, a store that cannot be
     * written fails this activity, so it is retried: the case has nothing else to do meanwhile.
     */
    async deliverOutbox(outbox: Outbox): Promise<OutboxReceipt> {
      await storeAuditEntries(db, outbox.audit);
      return deliver({ audit: [], notices: outbox.notices });
    },
  };
}
