import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import type { ActionName, ActionResult, Connector, IdentitySnapshot } from './connectors/types';

/** Names of the permanent failures identity activities raise (never retried). */
export const IdentityFailure = {
  UnknownProvider: 'UnknownProvider',
  UnsupportedAction: 'UnsupportedAction',
} as const;

/** Which identity an activity acts on, for which containment case. */
export interface IdentityTarget {
  provider: string;
  identityId: string;
  /** The case's first run id; absent in histories from before cases were passed. */
  caseId?: string;
}

// Retries of one activity share the key; a new activity (or a compensation) gets its own.
function idempotencyKey(): string {
  const { workflowExecution, activityId } = activityInfo();
  return `${workflowExecution?.workflowId}/${workflowExecution?.runId}/${activityId}`;
}

// Runs recorded before the case id was passed use '', the case of captures made before cases.
const caseOf = (target: IdentityTarget) => target.caseId ?? '';

/** Identity-system activities, dispatched to the connector named by `provider`. */
export function createIdentityActivities(connectors: Map<string, Connector>) {
  function connectorFor(provider: string): Connector {
    const connector = connectors.get(provider);
    if (!connector) {
      throw ApplicationFailure.create({
        type: IdentityFailure.UnknownProvider,
        message: `no connector registered for provider "${provider}"`,
        nonRetryable: true,
      });
    }
    return connector;
  }

  function actionOf(provider: string, name: ActionName) {
    const action = connectorFor(provider).actions[name];
    if (!action) {
      throw ApplicationFailure.create({
        type: IdentityFailure.UnsupportedAction,
        message: `provider "${provider}" has no "${name}" action`,
        nonRetryable: true,
      });
    }
    return action;
  }

  const perform = (name: ActionName) => async (target: IdentityTarget): Promise<ActionResult> =>
    actionOf(target.provider, name).run({ identityId: target.identityId, idempotencyKey: idempotencyKey(), caseId: caseOf(target) });

  return {
    /** Captures evidence of the identity's state before anything changes it. */
    async snapshotIdentity(target: IdentityTarget): Promise<IdentitySnapshot> {
      return connectorFor(target.provider).snapshot(target.identityId);
    },
    /** Reduces the identity's privileges (reversible). */
    restrictIdentity: perform('restrict'),
    /** Disables the identity and cuts its sessions (reversible). */
    isolateIdentity: perform('isolate'),
    /** Invalidates the credential (irreversible). */
    revokeCredential: perform('revoke'),
    /** Issues a new credential into the secret store (irreversible); returns a fingerprint only. */
    rotateCredential: perform('rotate'),
    /** Undoes one earlier action; idempotent and safe when the action never took effect. */
    async undoAction(target: IdentityTarget & { action: ActionName }): Promise<ActionResult> {
      const action = actionOf(target.provider, target.action);
      if (!action.undo) {
        throw ApplicationFailure.create({
          type: IdentityFailure.UnsupportedAction,
          message: `"${target.action}" on provider "${target.provider}" cannot be undone`,
          nonRetryable: true,
        });
      }
      return action.undo({ identityId: target.identityId, idempotencyKey: idempotencyKey(), caseId: caseOf(target) });
    },
    /** Checks the post-condition of an action on the identity. */
    async verifyAction(target: IdentityTarget & { action: ActionName }): Promise<boolean> {
      return connectorFor(target.provider).verify(target.identityId, target.action, caseOf(target));
    },
  };
}
