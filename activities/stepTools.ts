// What every case step needs: which case it runs for, its idempotency key, the connector and
// action it names, and reads of the identity kept before the first attempt.
import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import type { Database } from '../src/db';
import { StepFailure, type ActionName, type IdentityTarget, type SnapshotReading } from '../src/domain/case';
import { capture, capturedFor } from './connectors/captures';
import type { ActionResult, Connector } from './connectors/types';
import { errorText } from '../src/domain/errors';

/** The workflow this activity runs for: the only identity claim the guard takes from Temporal. */
export function caseExecution(): { workflowId: string; runId: string } {
  const execution = activityInfo().workflowExecution;
  if (!execution)
    throw ApplicationFailure.create({
      type: 'NotACase',
      message: 'a case step must run for a workflow',
      nonRetryable: true,
    });
  return execution;
}

/** Shared by the retries of one activity; a new activity (or a compensation) gets its own. */
export function idempotencyKey(): string {
  const { workflowId, runId } = caseExecution();
  return `${workflowId}/${runId}/${activityInfo().activityId}`;
}

/** Connector lookups and the reads and results a step keeps for its retries. */
export function stepTools(db: Database, connectors: Map<string, Connector>) {
  const keyFor = (target: IdentityTarget, what: string) => ({
    provider: target.provider,
    identityId: target.identityId,
    caseId: target.caseId,
    action: `${what}:${idempotencyKey()}`,
  });

  function connectorFor(provider: string): Connector {
    const connector = connectors.get(provider);
    if (connector) return connector;
    throw ApplicationFailure.create({
      type: StepFailure.UnknownProvider,
      message: `no connector registered for provider "${provider}"`,
      nonRetryable: true,
    });
  }

  return {
    connectorFor,

    actionOf(provider: string, name: ActionName) {
      const action = connectorFor(provider).actions[name];
      if (action) return action;
      throw ApplicationFailure.create({
        type: StepFailure.UnsupportedAction,
        message: `provider "${provider}" has no "${name}" action`,
        nonRetryable: true,
      });
    },

    /** The identity as found; a reading that fails says why instead. */
    async read(target: IdentityTarget): Promise<SnapshotReading> {
      try {
        return { snapshot: await connectorFor(target.provider).snapshot(target.identityId) };
      } catch (err) {
        return { unavailable: errorText(err) };
      }
    },

    /**
     * The evidence before an action, taken before its first attempt: a retry must not record the
     * state its own earlier attempt changed. A real case does not act on an identity it cannot
     * read (the failure is retried like the action's own); a dry run goes on without it.
     */
    async evidenceBefore(target: IdentityTarget, shadow: boolean): Promise<SnapshotReading> {
      if (!shadow)
        return {
          snapshot: await capture(db, keyFor(target, 'evidence'), () =>
            connectorFor(target.provider).snapshot(target.identityId),
          ),
        };
      const reading = await this.read(target);
      return 'snapshot' in reading
        ? { snapshot: await capture(db, keyFor(target, 'evidence'), async () => reading.snapshot) }
        : reading;
    },

    /** What an earlier attempt of this step did, if it acted. */
    earlierResult: (target: IdentityTarget) => capturedFor<ActionResult>(db, keyFor(target, 'result')),

    /** Runs the action once and keeps its result before anything else can fail. */
    actOnce: (target: IdentityTarget, run: () => Promise<ActionResult>) => capture(db, keyFor(target, 'result'), run),
  };
}
