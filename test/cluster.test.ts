// Cordon in its production topology: the Temporal server as separate services on PostgreSQL with
// mTLS and JWT authorization, two worker and two intake processes (`npm run cluster`). Each test
// disrupts it the way production would and then checks the three records that could disagree:
// Temporal's histories, the provider's applied actions and the audit store.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants, type Expectation } from '../bench/support/invariants';
import { makeClusterCerts } from '../src/cluster/certs';
import { readToken } from '../src/cluster';
import { connectFrontend } from '../src/cluster/namespace';
import { alertSignal, controlUpdate, statusQuery } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { postAlert, startTestCluster, type TestCluster } from './support/cluster';
import { eventually } from './support/scenario';

const ACTIONS = ['restrict', 'isolate', 'revoke']; // the bench policy's `auto` rule
const PERMISSION_DENIED = 7;

let t: TestCluster;
// Long enough for a storm's alerts to merge into the open case; every case then closes by itself.
beforeAll(async () => {
  t = await startTestCluster('45s');
}, 600_000);
afterAll(() => t?.stop(), 180_000);

/** Sends one alert per identity in `environment`, alternating intakes, and the expectations. */
async function containAcrossIntakes(count: number, prefix: string): Promise<Expectation[]> {
  const ids = Array.from({ length: count }, (_, i) => t.inventory.add('auto', { id: `${prefix}-${i}` }));
  return Promise.all(
    ids.map(async (identityId, i) => {
      const alert = makeAlert({ id: `${identityId}-alert`, identity: { provider: 'simulated', id: identityId } });
      await postAlert(t.cluster.intakes[i % t.cluster.intakes.length], alert);
      return { identityId, alertIds: [alert.id], actions: ACTIONS };
    }),
  );
}

async function expectNothingLost(expected: Expectation[]): Promise<void> {
  const report = await eventually(
    async () => {
      const r = await checkInvariants(t.client, t.db, expected);
      expect(r.problems).toEqual([]);
      return r;
    },
    { timeout: 600_000 },
  );
  expect(report).toMatchObject({ lost: 0, duplicateActions: 0, auditMismatches: 0 });
}

describe('the locked namespace', () => {
  let workflowId: string;
  beforeAll(async () => {
    const id = t.inventory.add('auto', { id: 'locked-target' });
    ({ workflowId } = await postAlert(t.cluster.intakes[0], makeAlert({ identity: { provider: 'simulated', id } })));
  }, 120_000);

  async function refusals(client: Client) {
    const handle = client.workflow.getHandle(workflowId);
    // One at a time, each awaited as it is made: a refusal never waits unobserved.
    const attempts: Record<string, () => Promise<unknown>> = {
      start: () =>
        client.workflow.start('containment', { workflowId: 'contain:simulated:forged', taskQueue: 'cordon' }),
      signal: () => handle.signal(alertSignal, makeAlert()),
      update: () => handle.executeUpdate(controlUpdate, { args: [{ control: 'pause', by: 'mallory' }] }),
    };
    const codes: Record<string, unknown> = {};
    for (const [name, attempt] of Object.entries(attempts))
      codes[name] = await attempt().then(
        () => 'allowed',
        (err: { code?: number; cause?: { code?: number } }) => err.cause?.code ?? err.code,
      );
    return codes;
  }

  it('refuses a client without a token, and one with a read-only token, to start, signal or update a case', async () => {
    const anonymous = await connectFrontend(t.cluster.frontend);
    const reader = await connectFrontend(t.cluster.frontend, readToken(t.cluster.tokens.reader));
    try {
      const denied = { start: PERMISSION_DENIED, signal: PERMISSION_DENIED, update: PERMISSION_DENIED };
      expect(await refusals(new Client({ connection: anonymous }))).toEqual(denied);
      expect(await refusals(new Client({ connection: reader }))).toEqual(denied);
      // The reader's token is valid: it may look.
      const seen = await new Client({ connection: reader }).workflow.getHandle(workflowId).describe();
      expect(seen.status.name).toBeDefined();
    } finally {
      await Promise.all([anonymous.close(), reader.close()]);
    }
    // Nothing the refused clients sent reached the case.
    const status = await t.client.workflow.getHandle(workflowId).query(statusQuery);
    expect(status.alerts).toHaveLength(1);
    expect(status.paused).toBe(false);
  });

  it('refuses a client without a certificate, or with one another CA signed, even with a valid token', async () => {
    const token = readToken(t.cluster.tokens.operator);
    const stranger = makeClusterCerts(mkdtempSync(path.join(tmpdir(), 'cordon-stranger-')));
    const attempts = [
      { serverNameOverride: 'localhost', serverRootCACertificate: readFileSync(t.cluster.certs.ca) },
      {
        serverNameOverride: 'localhost',
        serverRootCACertificate: readFileSync(t.cluster.certs.ca),
        clientCertPair: { crt: readFileSync(stranger.cordon.cert), key: readFileSync(stranger.cordon.key) },
      },
    ];
    for (const tls of attempts) {
      const listed = Connection.connect({
        address: t.cluster.frontend.address,
        tls,
        apiKey: token,
        connectTimeout: 5_000,
      })
        .then((c) => c.workflowService.listWorkflowExecutions({ namespace: 'default' }).finally(() => c.close()))
        .then(
          () => 'allowed',
          () => 'refused',
        );
      expect(await listed).toBe('refused');
    }
  });
});

describe('disruptions', () => {
  it('a storm split across both intakes makes exactly one workflow per identity and no duplicate provider action', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => t.inventory.add('auto', { id: `storm-${i}` }));
    const alerts = Array.from({ length: 200 }, (_, i) =>
      makeAlert({ id: `storm-alert-${i}`, identity: { provider: 'simulated', id: ids[i % ids.length] } }),
    );
    const answers = await Promise.all(alerts.map((alert, i) => postAlert(t.cluster.intakes[i % 2], alert)));

    expect(new Set(answers.map((a) => a.workflowId)).size).toBe(ids.length);
    expect(answers.filter((a) => a.disposition === 'started').length).toBeLessThanOrEqual(ids.length);
    await expectNothingLost(
      ids.map((identityId, k) => ({
        identityId,
        alertIds: alerts.filter((_, i) => i % ids.length === k).map((a) => a.id),
        actions: ACTIONS,
      })),
    );
  }, 900_000);

  it('SIGKILL of one worker mid-containment leaves the other to finish every case, the audit intact', async () => {
    const expected = await containAcrossIntakes(8, 'killed-worker');
    const [victim] = t.cluster.workers;
    // Mid-containment: some case has acted, and some action is still to come.
    await eventually(async () => expect(await appliedTotal(expected)).toBeGreaterThan(0), { timeout: 300_000 });
    expect(await appliedTotal(expected)).toBeLessThan(expected.length * ACTIONS.length);
    await victim.kill();
    await expectNothingLost(expected);
    await victim.start();
  }, 900_000);

  it('a restart of the history service mid-run loses nothing', async () => {
    const expected = await containAcrossIntakes(8, 'history-restart');
    await eventually(async () => expect(await appliedTotal(expected)).toBeGreaterThan(0), { timeout: 300_000 });
    const history = t.cluster.temporal.processes.get('history')!;
    await history.stop();
    t.cluster.temporal.start('history');
    await expectNothingLost(expected);
  }, 900_000);

  it('a rolling restart of both workers under a steady alert stream loses no alert', async () => {
    const accepted: Expectation[] = [];
    let streaming = true;
    const stream = (async () => {
      for (let n = 0; streaming; n++) accepted.push(...(await containAcrossIntakes(2, `rolling-${n}`)));
    })();
    for (const worker of t.cluster.workers) {
      const before = accepted.length;
      await worker.stop();
      await worker.start();
      // The stream went on while this worker was away.
      await eventually(() => expect(accepted.length).toBeGreaterThan(before + 4), { timeout: 300_000 });
    }
    streaming = false;
    await stream;
    expect(accepted.length).toBeGreaterThan(10);
    await expectNothingLost(accepted);
  }, 900_000);
});

/** How many provider actions were applied to the expected identities so far. */
async function appliedTotal(expected: Expectation[]): Promise<number> {
  const { rows } = await t.db.query<{ n: string }>(
    'SELECT count(*) AS n FROM simulated_actions WHERE identity_id = ANY($1)',
    [expected.map((e) => e.identityId)],
  );
  return Number(rows[0].n);
}
