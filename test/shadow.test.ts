// Shadow mode (dry runs) on the real dev server: the whole workflow runs, no provider action does.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { listActions, readState } from '../activities/connectors/simulated/state';
import type { Alert } from '../src/alerts';
import { verifyChain } from '../src/audit/entry';
import type { containIdentity } from '../workflows';
import { alertSignal, approveSignal, auditQuery, falsePositiveSignal, statusQuery } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { startIntake } from './support/intake';
import { runTs } from './support/processes';
import { containment, eventually, pendingRequestId, TEST_POLICY, waitForStatus } from './support/scenario';

// The worker rereads the policy for every new case, so a test can flip its shadow switch.
const policyFile = path.join(mkdtempSync(path.join(tmpdir(), 'cordon-shadow-policy-')), 'policy.yaml');
function writePolicy(shadow: boolean): void {
  const policy = parse(readFileSync(TEST_POLICY, 'utf8'));
  writeFileSync(policyFile, stringify(shadow ? { ...policy, shadow: true } : policy));
}
writePolicy(false);

const h = useHarness({ webhook: true, policyFile });
const INITIAL = { status: 'active', restricted: false, credentialVersion: 1 };
const shadowCase = (id: string): WorkflowHandle<typeof containIdentity> =>
  h.env.client.workflow.getHandle(`shadow:contain:simulated:${id}`);
const shadowAlert = (id: string, overrides: Partial<Alert> = {}) => h.alertFor(id, { shadow: true, ...overrides });
const grantsFor = async (workflowId: string) =>
  (
    await h.db.query<{ stage: string }>('SELECT stage FROM budget_grants WHERE workflow_id = $1 ORDER BY granted_at', [
      workflowId,
    ])
  ).rows;

describe('shadow mode', () => {
  it('runs an automatic plan in full without touching the identity or spending the destructive-action budget', async () => {
    const id = h.inventory.add('auto');
    const answer = await h.send(shadowAlert(id));
    expect(answer).toMatchObject({ workflowId: `shadow:contain:simulated:${id}`, disposition: 'started' });
    const handle = shadowCase(id);

    const status = await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
    expect(status.shadow).toBe(true);
    expect(status.applied).toEqual([]);
    expect(status.wouldDo).toEqual([
      { stage: 'restrict', action: 'restrict', decidedBy: 'policy:auto-full' },
      { stage: 'revoke', action: 'revoke', decidedBy: 'policy:auto-full' },
      { stage: 'rotate', action: 'rotate', decidedBy: 'policy:auto-full' },
    ]);
    expect(status.snapshot).toBeDefined(); // the real state was read
    expect(await listActions(h.db, id)).toEqual([]);
    expect(await readState(h.db, id)).toEqual(INITIAL);
    const { rows } = await h.db.query('SELECT 1 FROM simulated_secret_store WHERE identity_id = $1', [id]);
    expect(rows).toEqual([]);
    // revoke and rotate are destructive: a real run spends budget on them, a dry run must not.
    expect(await grantsFor(handle.workflowId)).toEqual([]);
    await expect(containment(h.env.client, id).describe()).rejects.toThrow(/not found/i);

    const audit = await handle.query(auditQuery);
    expect(audit.every((e) => e.shadow === true)).toBe(true);
    expect(verifyChain(audit)).toBeNull();
    expect(audit.some((e) => e.event === 'action.applied')).toBe(false);
    const shadowed = audit.filter((e) => e.event === 'action.shadowed');
    expect(shadowed.map((e) => [e.action, e.actor])).toEqual([
      ['restrict', 'policy:auto-full'],
      ['revoke', 'policy:auto-full'],
      ['rotate', 'policy:auto-full'],
    ]);
    expect(shadowed[0]).toMatchObject({
      result: { performed: false, plan: { rule: 'auto-full', policyDigest: expect.stringMatching(/^sha256:/) } },
    });
    const stored = await h.db.query<{ entry: { shadow?: boolean } }>(
      'SELECT entry FROM audit_entries WHERE workflow_id = $1',
      [handle.workflowId],
    );
    expect(stored.rows.length).toBe(audit.length);
    expect(stored.rows.every((r) => r.entry.shadow === true)).toBe(true);
  });

  it('a real case on another identity does spend budget (the check above can fail)', async () => {
    const { handle } = await h.contain('auto');
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
    expect((await grantsFor(handle.workflowId)).map((g) => g.stage)).toEqual(['revoke', 'rotate']);
  });

  it('asks for approval, and records the would-be undos on a false positive', async () => {
    const id = h.inventory.add('gated');
    await h.send(shadowAlert(id));
    const handle = shadowCase(id);
    const requestId = await pendingRequestId(handle, 'isolate');
    await eventually(() =>
      expect(h.webhook.of('approval-requested', handle.workflowId)).toEqual([
        expect.objectContaining({ shadow: true }),
      ]),
    );
    await handle.signal(approveSignal, { requestId, approver: 'bob', reason: 'dry run' });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(await listActions(h.db, id)).toEqual([]);

    await handle.signal(falsePositiveSignal, { by: 'alice', reason: 'exercise over' });
    const result = await handle.result();
    expect(result).toMatchObject({ outcome: 'false-positive', shadow: true });
    expect(result.wouldDo?.map((w) => [w.action, w.decidedBy])).toEqual([
      ['restrict', 'policy:gated-isolate'],
      ['isolate', 'approvers:bob'],
      ['undo:isolate', 'alice'],
      ['undo:restrict', 'alice'],
    ]);
    expect(await listActions(h.db, id)).toEqual([]);
    expect(await readState(h.db, id)).toEqual(INITIAL);
    const events = (await handle.query(auditQuery)).map((e) => [e.event, e.action ?? '']);
    expect(events).toEqual(
      expect.arrayContaining([
        ['approval.requested', 'isolate'],
        ['decision.approved', ''],
        ['compensation.shadowed', 'undo:isolate'],
        ['compensation.shadowed', 'undo:restrict'],
      ]),
    );
    expect(events.filter(([e]) => e === 'compensation.applied' || e === 'action.applied')).toEqual([]);
    // The determinism guard covers shadow histories too.
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { codePath: inject('workflowBundlePath') } },
        await handle.fetchHistory(),
        handle.workflowId,
      ),
    ).resolves.toBeUndefined();
  });

  it('a real alert during a shadow case gets real containment in its own case; neither takes the other kind', async () => {
    const id = h.inventory.add('gated');
    await h.send(shadowAlert(id));
    const dry = shadowCase(id);
    await pendingRequestId(dry, 'isolate');

    expect(await h.send(h.alertFor(id))).toMatchObject({
      workflowId: `contain:simulated:${id}`,
      disposition: 'started',
    });
    const real = containment(h.env.client, id);
    await real.signal(approveSignal, { requestId: await pendingRequestId(real, 'isolate'), approver: 'bob' });
    await waitForStatus(real, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(await listActions(h.db, id)).toEqual(['restrict', 'isolate']);
    expect((await real.query(statusQuery)).shadow).toBeUndefined();

    // Sent straight to Temporal, past the routing: each case refuses the other kind of alert.
    await real.signal(alertSignal, shadowAlert(id));
    await dry.signal(alertSignal, h.alertFor(id));
    await waitForStatus(real, (s) =>
      expect(s.rejectedInputs.map((r) => r.reason)).toEqual([expect.stringMatching(/is a shadow alert/)]),
    );
    const dryStatus = await waitForStatus(dry, (s) =>
      expect(s.rejectedInputs.map((r) => r.reason)).toEqual([expect.stringMatching(/is not a shadow alert/)]),
    );
    expect(dryStatus.alerts).toHaveLength(1);
    expect(dryStatus.applied).toEqual([]);
    expect(dryStatus.pendingRequest?.stage).toBe('isolate');
    expect((await real.query(auditQuery)).some((e) => e.shadow)).toBe(false);
  });

  it('the workflow id decides the mode: a hand-started case cannot run dry or act for real against its id', async () => {
    // `contain:` started by hand with shadow in its input: still a real case, so real alerts act.
    const realId = h.inventory.add('auto');
    const real = await h.env.client.workflow.signalWithStart('containIdentity', {
      workflowId: `contain:simulated:${realId}`,
      taskQueue: h.taskQueue,
      args: [{ identity: { provider: 'simulated', id: realId }, searchAttributes: true, shadow: true }],
      signal: alertSignal,
      signalArgs: [h.alertFor(realId)],
    });
    await waitForStatus(real, (s) => expect(s.outcome).toBe('contained'));
    expect(await listActions(h.db, realId)).toEqual(['restrict', 'revoke', 'rotate']);

    // `shadow:contain:` started by hand without it: still a dry run, so nothing acts.
    const dryId = h.inventory.add('auto');
    const dry = await h.env.client.workflow.signalWithStart('containIdentity', {
      workflowId: `shadow:contain:simulated:${dryId}`,
      taskQueue: h.taskQueue,
      args: [{ identity: { provider: 'simulated', id: dryId }, searchAttributes: true }],
      signal: alertSignal,
      signalArgs: [shadowAlert(dryId)],
    });
    const status = await waitForStatus(dry, (s) => expect(s.outcome).toBe('contained'));
    expect(status.shadow).toBe(true);
    expect(await listActions(h.db, dryId)).toEqual([]);
  });

  it('the intake routes `shadow: true` and `?shadow=true` to the shadow case, and refuses a bad parameter', async () => {
    const intake = await startIntake(h.env.client, h.taskQueue, { sources: undefined });
    try {
      const [flagged, queried] = [h.inventory.add('observe'), h.inventory.add('observe')];
      expect((await intake.post('/v1/alerts', shadowAlert(flagged))).body).toMatchObject({
        workflowId: `shadow:contain:simulated:${flagged}`,
      });
      expect((await intake.post('/v1/alerts?shadow=true', h.alertFor(queried))).body).toMatchObject({
        workflowId: `shadow:contain:simulated:${queried}`,
      });
      const bad = await intake.post('/v1/alerts?shadow=maybe', h.alertFor(queried));
      expect(bad).toMatchObject({ status: 400, body: { problems: [{ field: 'shadow' }] } });
      await waitForStatus(shadowCase(queried), (s) => expect(s).toMatchObject({ shadow: true, outcome: 'contained' }));
    } finally {
      await intake.close();
    }
  });

  it('`cordon alert send --shadow` starts the shadow case', async () => {
    const id = h.inventory.add('auto');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'cordon-alert-')), 'alert.json');
    writeFileSync(file, JSON.stringify(h.alertFor(id)));
    const sent = await runTs('bin/cordon.js', ['alert', 'send', '--shadow', file], {
      TEMPORAL_ADDRESS: h.env.address,
      CORDON_TASK_QUEUE: h.taskQueue,
    });
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({
      workflowId: `shadow:contain:simulated:${id}`,
      disposition: 'started',
    });
    await waitForStatus(shadowCase(id), (s) =>
      expect(s.wouldDo?.map((w) => w.action)).toEqual(['restrict', 'revoke', 'rotate']),
    );
    expect(await listActions(h.db, id)).toEqual([]);
  });

  it("the policy's shadow switch forwards real alerts to the shadow case; switched off, the next alert acts", async () => {
    const id = h.inventory.add('auto');
    writePolicy(true);
    try {
      expect(await h.send(h.alertFor(id))).toMatchObject({ workflowId: `contain:simulated:${id}` });
      const forwarder = await containment(h.env.client, id).result();
      expect(forwarder).toMatchObject({
        outcome: 'forwarded',
        forwardedTo: `shadow:contain:simulated:${id}`,
        applied: [],
      });
      const dry = await waitForStatus(shadowCase(id), (s) => expect(s.outcome).toBe('contained'));
      expect(dry.wouldDo?.map((w) => w.action)).toEqual(['restrict', 'revoke', 'rotate']);
      expect(await listActions(h.db, id)).toEqual([]);
    } finally {
      writePolicy(false);
    }

    await h.send(h.alertFor(id));
    await waitForStatus(containment(h.env.client, id), (s) => expect(s.outcome).toBe('contained'));
    expect(await listActions(h.db, id)).toEqual(['restrict', 'revoke', 'rotate']);
    expect((await shadowCase(id).query(statusQuery)).alerts).toHaveLength(1);
  });
});
