// containIdentity on the real dev server: stages, approvals, false positives, saga, storms.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { clearFault, injectFault, listActions, readState } from '../activities/connectors/simulated/state';
import { resolveTemporalCli } from '../src/temporal/binaries';
import { verifyChain, type AuditEntry } from '../src/audit/entry';
import {
  alertSignal,
  approveSignal,
  auditQuery,
  decideUpdate,
  denySignal,
  falsePositiveSignal,
  pauseSignal,
  resumeSignal,
  retryCompensationsSignal,
  statusQuery,
} from '../workflows/definitions';
import { useHarness } from './support/harness';
import { decodedHistoryText } from './support/history';
import { containment, eventually, pendingRequestId, waitForStatus } from './support/scenario';

const h = useHarness({ webhook: true });
const INITIAL = { status: 'active', restricted: false, credentialVersion: 1 };

describe('containIdentity', () => {
  it('runs an auto-approved full containment and delivers the rotated secret only to the secret store', async () => {
    const { id, handle } = await h.contain('auto');
    const status = await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));

    expect(status.applied.map((a) => [a.action, a.verified])).toEqual([
      ['restrict', true],
      ['revoke', true],
      ['rotate', true],
    ]);
    expect(await listActions(h.db, id)).toEqual(['restrict', 'revoke', 'rotate']);
    expect(await readState(h.db, id)).toEqual({ status: 'revoked', restricted: true, credentialVersion: 2 });
    // Invariant 6: the new secret is in the secret store, and nowhere else.
    const { rows } = await h.db.query<{ secret: string }>(
      'SELECT secret FROM simulated_secret_store WHERE identity_id = $1',
      [id],
    );
    const secret = rows[0].secret;
    expect(await decodedHistoryText(handle)).not.toContain(secret);
    expect(JSON.stringify(await handle.query(auditQuery))).not.toContain(secret);
    const stored = await h.db.query('SELECT entry FROM audit_entries WHERE workflow_id = $1', [handle.workflowId]);
    expect(JSON.stringify(stored.rows)).not.toContain(secret);
    // Connectors scope their undo captures to the case: every action step names it.
    const firstExecutionRunId = (await handle.describe()).raw.workflowExecutionInfo?.firstRunId;
    const history = await decodedHistoryText(handle);
    expect(firstExecutionRunId).toBeTruthy();
    // Payloads are JSON inside the history JSON, so their quotes appear escaped.
    const caseIds = [...history.matchAll(/\\"caseId\\":\\"([0-9a-f-]+)\\"/g)].map((m) => m[1]);
    expect(caseIds.length).toBeGreaterThanOrEqual(3);
    expect(new Set(caseIds)).toEqual(new Set([firstExecutionRunId]));
  });

  it('never revokes a shared credential without approval, even when the rule says automatic', async () => {
    const { id, handle } = await h.contain('auto', { shared: true });
    const requestId = await pendingRequestId(handle, 'revoke');
    expect(await listActions(h.db, id)).toEqual(['restrict']);
    expect((await handle.query(statusQuery)).plan?.reasons.join('\n')).toContain(
      'shared credential is never revoked automatically',
    );

    await handle.signal(approveSignal, { requestId, approver: 'bob' });
    await waitForStatus(handle, (s) => expect(s.applied.map((a) => a.action)).toContain('revoke'));
  });

  it('needs 2 distinct approvers: a duplicate approver, the owner and a stale request id are refused and audited', async () => {
    const { id, handle } = await h.contain('two-of-n', { owner: 'carol' });
    const requestId = await pendingRequestId(handle, 'restrict');
    const decide = (approver: string, request = requestId) =>
      handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', requestId: request, approver, reason: 'seen it' }],
      });
    const refusal = (approver: string, request?: string) =>
      decide(approver, request).then(
        () => 'accepted',
        (err) => String(err.cause?.message),
      );

    expect(await decide('alice')).toEqual({ accepted: true, state: 'waiting', approvals: 1, required: 2 });
    expect(await refusal('alice')).toMatch(/already approved/);
    expect(await refusal('carol')).toMatch(/owns this identity/);
    expect(await refusal('bob', 'restrict-99')).toMatch(/unknown or stale request id/);
    expect(await refusal('mallory')).toMatch(/not in the approver groups/);
    await handle.signal(approveSignal, { requestId, approver: 'alice', reason: 'again, by signal' });
    expect(await listActions(h.db, id)).toEqual([]);

    expect(await decide('bob')).toEqual({ accepted: true, state: 'approved', approvals: 2, required: 2 });
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
    expect(await listActions(h.db, id)).toEqual(['restrict']);
    const audit = await handle.query(auditQuery);
    expect(audit.filter((e) => e.event === 'decision.approved').map((e) => e.actor)).toEqual(['alice', 'bob']);
    // Refused updates are audited like refused signals, and status lists every refusal.
    expect(audit.filter((e) => e.event === 'decision.rejected').map((e) => e.reason)).toEqual([
      expect.stringMatching(/already approved/),
      expect.stringMatching(/owns this identity/),
      expect.stringMatching(/unknown or stale request id/),
      expect.stringMatching(/not in the approver groups/),
      expect.stringMatching(/already approved/),
    ]);
    expect((await handle.query(statusQuery)).rejectedInputs.map((r) => r.code)).toEqual([
      'repeat',
      'self-approval',
      'stale',
      'forbidden',
      'repeat',
    ]);
  });

  it('false positive during isolate restores the identity and says so in the audit', async () => {
    const { id, handle } = await h.contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    await handle.signal(approveSignal, { requestId, approver: 'bob', reason: 'go' });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(await readState(h.db, id)).toEqual({ status: 'disabled', restricted: true, credentialVersion: 1 });

    await handle.signal(falsePositiveSignal, { by: 'alice', reason: 'scheduled key rotation job' });
    const result = await handle.result();

    expect(result.outcome).toBe('false-positive');
    expect(await readState(h.db, id)).toEqual(INITIAL);
    expect(await listActions(h.db, id)).toEqual(['restrict', 'isolate', 'undo:isolate', 'undo:restrict']);
    const restored = (await handle.query(auditQuery)).find((e) => e.event === 'identity.restored');
    expect(restored).toMatchObject({ actor: 'alice', result: { restored: true } });
  });

  it('an approval arriving right after a deny cannot overturn it', async () => {
    const { id, handle } = await h.contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    // Back to back, so both usually reach the workflow in one activation, deny first.
    await handle.signal(denySignal, { requestId, approver: 'bob', reason: 'no' });
    await handle.signal(approveSignal, { requestId, approver: 'alice', reason: 'yes' });
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('rolled-back'));
    expect(await listActions(h.db, id)).not.toContain('isolate');
  });

  it('a deny rolls back what was done; with onDeny hold it keeps it', async () => {
    const rolled = h.inventory.add('gated');
    const held = h.inventory.add('deny-holds');
    await Promise.all([h.send(h.alertFor(rolled)), h.send(h.alertFor(held))]);
    for (const id of [rolled, held]) {
      const handle = containment(h.env.client, id);
      await handle.signal(denySignal, {
        requestId: await pendingRequestId(handle, 'isolate'),
        approver: 'alice',
        reason: 'not convinced',
      });
    }
    await waitForStatus(containment(h.env.client, rolled), (s) => expect(s.outcome).toBe('rolled-back'));
    expect(await readState(h.db, rolled)).toEqual(INITIAL);
    await waitForStatus(containment(h.env.client, held), (s) => expect(s.outcome).toBe('held'));
    expect(await readState(h.db, held)).toMatchObject({ restricted: true, status: 'active' });
  });

  it('an action whose effect does not verify fails its stage: nothing after it runs', async () => {
    const id = h.inventory.add('auto');
    await injectFault(h.db, id, 'verify:restrict', 'permanent');
    await h.send(h.alertFor(id));
    const handle = containment(h.env.client, id);

    const stuck = await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(stuck.applied).toEqual([expect.objectContaining({ action: 'restrict', changed: true, verified: false })]);
    expect(await listActions(h.db, id)).toEqual(['restrict']);
    const events = (await handle.query(auditQuery)).map((e) => [e.event, e.reason ?? '']);
    expect(events).toContainEqual([
      'action.failed',
      'restrict reported success, but the identity system does not show its effect',
    ]);
    await eventually(() => expect(h.webhook.of('needs-attention', handle.workflowId)).toHaveLength(1));
  });

  it('an undo that keeps failing leaves the workflow in needs-attention until retried', async () => {
    const { id, handle } = await h.contain('gated');
    await pendingRequestId(handle, 'isolate');
    await injectFault(h.db, id, 'undo:restrict', 'permanent');
    await handle.signal(falsePositiveSignal, { by: 'alice' });

    const stuck = await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(stuck.compensations).toEqual([expect.objectContaining({ action: 'restrict', state: 'failed' })]);
    await eventually(() => expect(h.webhook.of('needs-attention', handle.workflowId)).toHaveLength(1));
    expect((await handle.describe()).status.name).toBe('RUNNING');

    await clearFault(h.db, id, 'undo:restrict');
    await handle.signal(retryCompensationsSignal, { by: 'oncall' });
    expect((await handle.result()).outcome).toBe('false-positive');
    expect(await readState(h.db, id)).toEqual(INITIAL);
  });

  it('an identity system that cannot even be read leaves the case in needs-attention, not failed', async () => {
    const id = h.inventory.add('gated');
    await injectFault(h.db, id, 'snapshot', 'permanent');
    await h.send(h.alertFor(id));
    const handle = containment(h.env.client, id);
    const stuck = await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(stuck.stage).toBe('restrict');
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(await listActions(h.db, id)).toEqual([]);

    await handle.signal(falsePositiveSignal, { by: 'alice', reason: 'monitoring glitch' });
    expect((await handle.result()).outcome).toBe('false-positive');
  });

  it('a storm of 200 alerts on 5 identities makes exactly 5 workflows and no duplicate provider actions', async () => {
    const ids = Array.from({ length: 5 }, () => h.inventory.add('auto'));
    const alerts = Array.from({ length: 200 }, (_, i) => h.alertFor(ids[i % 5], { id: `storm-${i % 40}` }));
    const answers = await Promise.all(alerts.map((a) => h.send(a)));

    expect(new Set(answers.map((a) => a.workflowId)).size).toBe(5);
    // On a loaded machine an answer can come back `pending` (handed over, but no worker said
    // what it became in time): never a second start, and every delivery is in a ledger.
    expect(answers.filter((a) => a.disposition === 'started').length).toBeLessThanOrEqual(5);
    expect(answers.filter((a) => !['started', 'merged', 'duplicate', 'pending'].includes(a.disposition))).toEqual([]);
    for (const id of ids) {
      const handle = containment(h.env.client, id);
      const status = await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
      expect(status.alerts).toHaveLength(8);
      expect(status.alerts.reduce((n, a) => n + a.deliveries, 0)).toBe(40);
      expect(await listActions(h.db, id)).toEqual(['restrict', 'revoke', 'rotate']);
      await eventually(async () => {
        const runs = [];
        for await (const run of h.env.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` }))
          runs.push(run);
        expect(runs).toHaveLength(1);
      });
    }
  });

  it('rejects and audits a bad signal payload without changing anything', async () => {
    const { id, handle } = await h.contain('gated');
    await pendingRequestId(handle, 'isolate');
    const before = await readState(h.db, id);
    await handle.signal(falsePositiveSignal, { who: 'nobody' } as never);
    await handle.signal('alert', { id: 'x', kind: 'nonsense' });

    const status = await waitForStatus(handle, (s) => expect(s.rejectedInputs).toHaveLength(2));
    expect(status.falsePositive).toBeUndefined();
    expect(status.outcome).toBe('active');
    expect(await readState(h.db, id)).toEqual(before);
    const refused = (await handle.query(auditQuery)).filter((e) => e.event.endsWith('.rejected'));
    expect(refused.map((e) => e.event)).toEqual(['decision.rejected', 'input.rejected']);
  });

  it('accepts an approve signal sent with the real temporal CLI binary', async () => {
    const { id, handle } = await h.contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    const cli = resolveTemporalCli().path as string;
    execFileSync(cli, [
      'workflow',
      'signal',
      '--address',
      h.env.address,
      '--workflow-id',
      handle.workflowId,
      '--name',
      'approve',
      '--input',
      JSON.stringify({ requestId, approver: 'bob', reason: 'via temporal CLI' }),
    ]);
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(await listActions(h.db, id)).toEqual(['restrict', 'isolate']);
  });

  it('a stronger alert escalates the plan; a weaker one never de-escalates it', async () => {
    const id = h.inventory.add('escalate');
    const handle = containment(h.env.client, id);
    await h.send(h.alertFor(id, { confidence: 0.3 }));
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
    expect(await listActions(h.db, id)).toEqual([]);

    expect((await h.send(h.alertFor(id, { confidence: 0.9 }))).disposition).toBe('merged');
    const escalated = await waitForStatus(handle, (s) => expect(s.applied.map((a) => a.action)).toEqual(['restrict']));
    expect(escalated.plan?.stages.map((s) => s.stage)).toEqual(['observe', 'restrict']);

    await h.send(h.alertFor(id, { confidence: 0.1 }));
    const after = await waitForStatus(handle, (s) => expect(s.alerts).toHaveLength(3));
    expect(after.plan?.stages.map((s) => s.stage)).toEqual(['observe', 'restrict']);
    expect(await listActions(h.db, id)).toEqual(['restrict']);
  });

  it('pause holds the next action even after approval; resume lets it run', async () => {
    const { id, handle } = await h.contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    // Pausing is a decision too: only the groups the policy names (here the approvers') may.
    await handle.signal(pauseSignal, { by: 'oncall', reason: 'change freeze' });
    await waitForStatus(handle, (s) =>
      expect(s.rejectedInputs.at(-1)).toMatchObject({ code: 'forbidden', by: 'oncall' }),
    );
    await handle.signal(pauseSignal, { by: 'bob', reason: 'change freeze' });
    await handle.signal(approveSignal, { requestId, approver: 'alice' });
    await waitForStatus(handle, (s) => expect([s.paused, s.waitingFor]).toEqual([true, 'resume']));
    expect(await listActions(h.db, id)).toEqual(['restrict']);

    await handle.signal(resumeSignal, { by: 'bob' });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(await listActions(h.db, id)).toEqual(['restrict', 'isolate']);
  });

  it('continues as new while the case is held, carrying alerts, compensations and the audit chain', async () => {
    const id = h.inventory.add('escalate');
    const handle = containment(h.env.client, id);
    await h.env.client.workflow.signalWithStart('containIdentity', {
      workflowId: handle.workflowId,
      taskQueue: h.taskQueue,
      args: [{ identity: { provider: 'simulated', id }, maxHistoryEvents: 60 }],
      signal: alertSignal,
      signalArgs: [h.alertFor(id, { confidence: 0.9 })],
    });
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
    const firstRun = (await handle.describe()).runId;
    for (let i = 0; i < 12; i++) await h.send(h.alertFor(id, { confidence: 0.2 }));
    await eventually(async () => expect((await handle.describe()).runId).not.toBe(firstRun));
    await waitForStatus(handle, (s) => expect(s.alerts).toHaveLength(13));

    await handle.signal(falsePositiveSignal, { by: 'alice', reason: 'red team exercise' });
    expect((await handle.result()).outcome).toBe('false-positive');
    expect(await readState(h.db, id)).toEqual(INITIAL);
    const { rows } = await h.db.query<{ entry: AuditEntry }>(
      'SELECT entry FROM audit_entries WHERE workflow_id = $1 ORDER BY seq',
      [handle.workflowId],
    );
    expect(new Set(rows.map((r) => r.entry.runId)).size).toBeGreaterThan(1);
    expect(verifyChain(rows.map((r) => r.entry))).toBeNull();
  });
});
