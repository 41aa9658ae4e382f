// Identity resolution and warnings end to end: an intake that knows the worker's inventory and
// connectors, on a real Temporal dev server. An alert about a real principal is never dropped: a
// case that cannot act says why, in its status, the intake's answer and /metrics.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { servedProviders } from '../activities/servedConnectors';
import { showStatus } from '../src/cli/commands';
import { loadInventory } from '../src/policy/load';
import { auditQuery } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { example } from './support/formats';
import { useHarness } from './support/harness';
import { sample, startIntake } from './support/intake';
import { waitForStatus } from './support/scenario';

const h = useHarness();
let intake: Awaited<ReturnType<typeof startIntake>>;
const ARN = `arn:aws:iam::111122223333:user/svc-${randomUUID()}`;
let aliased: string;
let withoutConnector: string;

beforeAll(async () => {
  aliased = h.inventory.add('observe-only', { aliases: [ARN] });
  withoutConnector = h.inventory.add('auto', { provider: 'aws-iam' });
  h.inventory.add('observe-only', { id: 'shared-name' });
  h.inventory.add('observe-only', { id: 'shared-name', provider: 'openbao' });
  intake = await startIntake(h.env.client, h.taskQueue, {
    sources: undefined,
    // As `npm start` wires it: the worker's inventory file and the registry's configured connectors.
    identities: {
      inventory: () => loadInventory(h.inventory.file),
      providers: new Set(servedProviders({ db: h.db, settings: {} })),
    },
  });
});
afterAll(() => intake?.close());

// An OCSF finding from a SIEM that names no cloud, about the principal `user`.
function finding(user: Record<string, string> | undefined) {
  const base = example('ocsf-detection-finding.json');
  delete base.cloud;
  delete base.actor;
  base.finding_info.uid = `finding-${randomUUID()}`;
  if (user) base.evidences[0].user = user;
  else delete base.evidences;
  return base;
}

describe('identity resolution at the intake', () => {
  it('resolves an OCSF finding without cloud.provider by an inventory alias to its provider and id', async () => {
    const answer = await intake.post('/v1/alerts', finding({ uid: ARN, name: 'whatever-the-siem-calls-it' }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ workflowId: `contain:simulated:${aliased}`, disposition: 'started' });
    expect(answer.body.warnings).toBeUndefined();
    const handle = h.env.client.workflow.getHandle(answer.body.workflowId);
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
  });

  it('opens an observe-only unresolved case for a principal no identity system is known for, never a 422', async () => {
    const principal = `svc-${randomUUID()}`;
    const answer = await intake.post('/v1/alerts', finding({ name: principal }));
    const reason = `no identity system is known for principal ${principal}: add it to the inventory with its provider (or as an alias of the identity it is)`;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      workflowId: `contain:unresolved:${principal}`,
      disposition: 'started',
      warnings: [{ code: 'unresolved-identity', message: `${reason}; the case only observes and needs attention` }],
    });
    const handle = h.env.client.workflow.getHandle(answer.body.workflowId);
    const status = await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(status.attention).toBe(reason);
    expect(status.plan?.stages.map((s) => s.stage)).toEqual(['observe']);
    expect(status.applied).toEqual([]);
    expect((await handle.query(auditQuery)).filter((e) => e.event.startsWith('action.'))).toEqual([]);

    // `cordon status` says why, right after the outcome and again on stderr.
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const shown = await showStatus(handle.workflowId)(h.env.client);
      expect(Object.keys(shown).slice(0, 4)).toEqual(['identity', 'stage', 'outcome', 'attention']);
      expect(stderr).toHaveBeenCalledWith(`cordon: ${handle.workflowId} needs attention: ${reason}\n`);
    } finally {
      stderr.mockRestore();
    }
  });

  it('does not guess between two identities with the name: the case says it is ambiguous', async () => {
    const answer = await intake.post('/v1/alerts', finding({ name: 'shared-name' }));
    const reason =
      'principal shared-name is ambiguous: it names 2 identities in the inventory (simulated:shared-name, openbao:shared-name), and Cordon does not guess; keep the id or alias on one of them only';
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      workflowId: 'contain:unresolved:shared-name',
      warnings: [{ code: 'unresolved-identity', message: expect.stringContaining(reason) }],
    });
    const handle = h.env.client.workflow.getHandle(answer.body.workflowId);
    const status = await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(status.attention).toBe(reason);
  });

  it('answers 422 naming the field only for a finding that names no principal at all, and starts nothing', async () => {
    const answer = await intake.post('/v1/alerts', finding(undefined));
    expect(answer.status).toBe(422);
    expect(answer.body.problems).toEqual([
      { field: 'evidences', message: expect.stringMatching(/^names no principal: none of evidences\[\]\.user/) },
    ]);
  });

  it('warns when no connector serves the provider and when the identity is not in the inventory; still 200', async () => {
    const known = await intake.post(
      '/v1/alerts',
      makeAlert({ identity: { provider: 'aws-iam', id: withoutConnector } }),
    );
    expect(known.status).toBe(200);
    expect(known.body.warnings).toEqual([
      {
        code: 'no-connector',
        message: expect.stringContaining(`no connector serves provider "aws-iam" here: the case cannot act`),
      },
    ]);
    const handle = h.env.client.workflow.getHandle(known.body.workflowId);
    const status = await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(status.attention).toBe('restrict failed: no connector registered for provider "aws-iam"');

    const unknown = await intake.post('/v1/alerts', makeAlert());
    expect(unknown.status).toBe(200);
    expect(unknown.body.warnings).toEqual([
      { code: 'not-in-inventory', message: expect.stringContaining('gets the most conservative plan') },
    ]);
  });

  it('counts open cases needing attention by reason category, and warnings by code, in /metrics', async () => {
    // This file's cases: two unresolved principals and one provider without a connector.
    await vi.waitFor(
      async () => {
        const text = await intake.metrics();
        expect(sample(text, 'cordon_cases_needing_attention', { reason: 'unresolved-identity' })).toBe(2);
        expect(sample(text, 'cordon_cases_needing_attention', { reason: 'no-connector' })).toBe(1);
        expect(sample(text, 'cordon_cases_needing_attention', { reason: 'undo-failed' })).toBe(0);
        expect(text).toContain('cordon_cases_needing_attention{reason="undo-failed"} 0');
      },
      { timeout: 30_000, interval: 500 },
    );
    const text = await intake.metrics();
    expect(sample(text, 'cordon_alert_warnings_total', { code: 'unresolved-identity' })).toBe(2);
    expect(sample(text, 'cordon_alert_warnings_total', { code: 'no-connector' })).toBe(1);
    expect(sample(text, 'cordon_alert_warnings_total', { code: 'not-in-inventory' })).toBe(1);
  });
});

describe('the unresolved provider', () => {
  it('can never be served by a connector', () => {
    expect(() => servedProviders({ db: h.db, settings: { simulatedStandIns: ['unresolved'] } })).toThrow(
      'no connector may serve provider "unresolved"',
    );
  });
});
