import type { Database } from '../../../src/db';
import type { ActionName, Connector, ConnectorSettings } from '../types';
import { AwsClients } from './client';
import { isolateAction, isolated } from './isolate';
import { principalOf, readSnapshot } from './principal';
import { restrictAction, restricted } from './restrict';
import { revokeAction, revoked } from './revoke';
import { rotateAction, rotatedNow } from './rotate';

/**
 * The `aws-iam` identity system: IAM users (identity id = user name) and, for restrict and
 * isolate, roles (`role/<name>`). Rotated keys go to Secrets Manager. Undefined when
 * `settings.aws` is absent; the SDK clients are made on first use.
 */
export function createAwsIamConnector({
  db,
  settings,
}: {
  db: Database;
  settings: ConnectorSettings;
}): Connector | undefined {
  if (!settings.aws) return undefined;
  const clients = new AwsClients(settings.aws);
  // Post-conditions that depend on what an action captured read this case's captures only.
  const postConditions: Record<ActionName, (identityId: string, caseId: string) => Promise<boolean>> = {
    restrict: (id, caseId) => restricted(db, clients, id, caseId),
    isolate: (id, caseId) => isolated(db, clients, id, caseId),
    revoke: (id, caseId) => revoked(db, clients, id, caseId),
    rotate: (id) => rotatedNow(clients, id),
  };
  return {
    name: 'aws-iam',
    description:
      'AWS IAM users and roles: deny policies, access key status and deletion, rotation into Secrets Manager',
    actions: {
      restrict: restrictAction(db, clients),
      isolate: isolateAction(db, clients),
      revoke: revokeAction(db, clients),
      rotate: rotateAction(db, clients),
    },
    snapshot: (identityId) => readSnapshot(clients, principalOf(identityId)),
    verify: (identityId, action, caseId) => postConditions[action](identityId, caseId),
  };
}
