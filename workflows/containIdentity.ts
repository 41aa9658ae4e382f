import { condition, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { OUTCOME, STAGE } from '../src/temporal/searchAttributes';
import { AlertLedger } from './alertLedger';
import {
  alertSignal,
  deliveryQuery,
  statusQuery,
  type AppliedAction,
  type ContainIdentityInput,
  type ContainmentStatus,
} from './definitions';

const identityActions = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

// How long a containment case stays open for more evidence after it acted.
const CASE_OPEN_FOR = '7 days';

/** Contains one identity: collects its alerts, captures evidence, then restricts it. */
export async function containIdentity(input: ContainIdentityInput): Promise<ContainmentStatus> {
  const target = { provider: input.identity.provider, identityId: input.identity.id };
  const ledger = new AlertLedger(input.identity);
  const applied: AppliedAction[] = [];
  let stage = 'waiting-for-alert';
  let outcome = 'active';
  let snapshot: Record<string, unknown> | undefined;

  const status = (): ContainmentStatus => ({
    identity: input.identity,
    stage,
    outcome,
    alerts: ledger.alerts,
    rejectedInputs: ledger.rejected,
    snapshot,
    applied,
  });
  const enter = (next: string) => {
    stage = next;
    upsertSearchAttributes([{ key: STAGE, value: stage }, { key: OUTCOME, value: outcome }]);
  };

  setHandler(alertSignal, (alert, delivery) => void ledger.receive(alert, delivery));
  setHandler(deliveryQuery, (deliveryId) => ledger.dispositionOf(deliveryId));
  setHandler(statusQuery, status);
  if (input.alert) ledger.receive(input.alert);

  await condition(() => ledger.alerts.length > 0);
  ledger.takeNew();

  enter('snapshot');
  snapshot = await identityActions.snapshotIdentity(target);

  enter('restrict');
  const restricted = await identityActions.restrictIdentity(target);
  applied.push({ action: 'restrict', ...restricted });

  outcome = 'contained';
  enter('holding');
  await condition(() => false, CASE_OPEN_FOR);
  return status();
}
