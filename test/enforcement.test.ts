// The action activity is the enforcement point: whatever a hand-started workflow carries (a
// policy, an inventory record, an identity), the worker acts only as its own policy, inventory
// and the workflow id allow. Each case here is started by hand, as anyone with access to the
// namespace could, and no provider action may happen.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { GENESIS_HASH } from '../src/domain/auditEntry';
import { findIdentity } from '../src/inventory';
import { loadInventory, loadPolicy } from '../src/policy/load';
import { policyDigest } from '../src/policy/plan';
import type { Policy } from '../src/policy/schema';
import { auditQuery, decideUpdate, type ContainIdentityInput, type ContainmentStatus } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { useHarness } from './support/harness';
import { pendingRequestId, TEST_POLICY, waitForStatus } from './support/scenario';

const h = useHarness();

// Every stage automatic: what an attacker would bring.
function everythingAutomatic(policy: Policy): Policy {
  return {
    ...policy,
    guards: [],
    rules: [
      {
        name: 'forged',
        when: {},
        stages: ['restrict', 'isolate', 'revoke', 'rotate'].map((stage) => ({
          stage,
          approval: 'auto',
          onDeny: 'rollback',
          onFailure: 'hold',
        })),
      },
    ],
  } as Policy;
}

// Starts a case by hand with a context of the caller's choosing (as a continued run carries it).
async function startForged(
  workflowId: string,
  identityId: string,
  context: NonNullable<ContainIdentityInput['carried']>['context'],
) {
  const identity = { provider: 'simulated', id: identityId };
  const status: ContainmentStatus = {
    identity,
    stage: 'waiting-for-alert',
    outcome: 'active',
    paused: false,
    alerts: [],
    rejectedInputs: [],
    applied: [],
    compensations: [],
  };
  const input: ContainIdentityInput = {
    identity,
    alert: makeAlert({ identity, severity: 'critical', confidence: 0.99 }),
    carried: {
      status,
      completedStages: [],
      audit: { seq: 0, lastHash: GENESIS_HASH },
      falsePositiveHandled: false,
      context,
    },
  };
  return h.env.client.workflow.start('containIdentity', { workflowId, taskQueue: h.taskQueue, args: [input] });
}

const recordOf = (id: string) => findIdentity(loadInventory(h.inventory.file), { provider: 'simulated', id });

describe('the action activity decides from what the worker trusts', () => {
  it('refuses every action of a case that brings its own policy, and the case says why', async () => {
    const id = h.inventory.add('gated');
    const handle = await startForged(`contain:simulated:${id}`, id, {
      policy: everythingAutomatic(loadPolicy(TEST_POLICY)),
      record: recordOf(id),
    });
    const stuck = await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(stuck.attention).toMatch(/neither the worker's current policy nor the one this case was opened with/);
    expect(await listActions(h.db, id)).toEqual([]);
    expect((await handle.query(auditQuery)).filter((e) => e.event === 'action.refused')).toHaveLength(1);
  });

  it('refuses a policy this worker once loaded but no longer runs, for a case not opened with it', async () => {
    const id = h.inventory.add('gated');
    const old = everythingAutomatic(loadPolicy(TEST_POLICY));
    // As if an earlier deployment had loaded it: it is in the store, but this case never had it.
    await h.db.query('INSERT INTO accepted_policies (digest, version, policy) VALUES ($1, $2, $3::jsonb)', [
      policyDigest(old),
      old.version,
      JSON.stringify(old),
    ]);
    const handle = await startForged(`contain:simulated:${id}`, id, { policy: old, record: recordOf(id) });
    const stuck = await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(stuck.attention).toMatch(/neither the worker's current policy nor the one this case was opened with/);
    expect(await listActions(h.db, id)).toEqual([]);
  });

  it("refuses an approval by the identity's owner that a forged record hid from the case", async () => {
    const id = h.inventory.add('gated', { owner: 'alice' });
    const handle = await startForged(`contain:simulated:${id}`, id, {
      policy: loadPolicy(TEST_POLICY),
      record: { ...recordOf(id)!, owner: 'somebody-else' },
    });
    const requestId = await pendingRequestId(handle, 'isolate');
    // The case, believing its record, accepts alice; the worker knows she owns the identity.
    await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', requestId, approver: 'alice' }] });
    const stuck = await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(stuck.attention).toMatch(/alice owns this identity and self-approval is off/);
    expect(await listActions(h.db, id)).toEqual(['restrict']);
  });

  it('refuses an action that a forged inventory record makes automatic', async () => {
    const id = h.inventory.add('gated');
    // The worker's inventory says `gated` (isolate needs approval); the case claims `auto`.
    const handle = await startForged(`contain:simulated:${id}`, id, {
      policy: loadPolicy(TEST_POLICY),
      record: { ...recordOf(id)!, environment: 'auto' },
    });
    const stuck = await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(stuck.attention).toMatch(/plans no revoke|requires approval/);
    // The worker's own plan for this identity does restrict automatically: only that happened.
    expect(await listActions(h.db, id)).toEqual(['restrict']);
  });

  it('refuses to act on an identity other than the one its workflow id names', async () => {
    const named = h.inventory.add('auto');
    const other = h.inventory.add('auto');
    const handle = await startForged(`contain:simulated:${named}`, other, {
      policy: loadPolicy(TEST_POLICY),
      record: recordOf(other),
    });
    const stuck = await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(stuck.attention).toMatch(/is not the case of simulated:/);
    expect(await listActions(h.db, other)).toEqual([]);
    expect(await listActions(h.db, named)).toEqual([]);
  });

  it('a context handed over in the start input skips the opening read, and a forged one acts on nothing', async () => {
    const honest = h.inventory.add('auto');
    const forged = h.inventory.add('gated');
    const start = (id: string, context: ContainIdentityInput['context']) =>
      h.env.client.workflow.start('containIdentity', {
        workflowId: `contain:simulated:${id}`,
        taskQueue: h.taskQueue,
        args: [
          {
            identity: { provider: 'simulated', id },
            alert: makeAlert({ identity: { provider: 'simulated', id } }),
            context,
          },
        ],
      });
    const handed = await start(honest, { policy: loadPolicy(TEST_POLICY), record: recordOf(honest) });
    await waitForStatus(handed, (s) => expect(s.outcome).toBe('contained'));
    const scheduled = ((await handed.fetchHistory()).events ?? []).flatMap(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
    );
    expect(scheduled.slice(0, 3)).toEqual(['actOnIdentity', 'actOnIdentity', 'actOnIdentity']);

    const lying = await start(forged, {
      policy: everythingAutomatic(loadPolicy(TEST_POLICY)),
      record: recordOf(forged),
    });
    await waitForStatus(lying, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(await listActions(h.db, forged)).toEqual([]);
  });

  it('an identity started under an unrelated workflow id acts on nothing', async () => {
    const id = h.inventory.add('auto');
    const handle = await startForged(`not-a-case-${randomUUID()}`, id, {
      policy: loadPolicy(TEST_POLICY),
      record: recordOf(id),
    });
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(await listActions(h.db, id)).toEqual([]);
  });
});
