// Cordon in its production topology: the Temporal server as separate services on PostgreSQL with
// mTLS and JWT authorization, two worker and two intake processes (`npm run cluster`). Each test
// disrupts it the way production would and then checks the three records that could disagree:
// Temporal's histories, the provider's applied actions and the audit store.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants, type Expectation } from '../bench/support/invariants';
import { ApiKeyRefresher } from '../src/client/apiKeyRefresh';
import { temporalConnectionOptions } from '../src/client/connect';
import { makeClusterCerts } from '../src/cluster/certs';
import type { CordonProcess } from '../src/cluster/cordon';
import { CLUSTER_NAMESPACE, connectFrontend, frontendSettings } from '../src/cluster/namespace';
import { makeTokenIssuer, writeToken } from '../src/cluster/tokens';
import { alertSignal, controlUpdate, statusQuery } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { postAlert, startTestCluster, type TestCluster } from './support/cluster';
import { eventually } from './support/scenario';
import { testLogger } from './support/temporal';

const ACTIONS = ['restrict', 'isolate', 'revoke']; // the bench policy's `auto` rule
const PERMISSION_DENIED = 7;

let t: TestCluster;
const starting = new AbortController();
// Long enough for a storm's alerts to merge into the open case; every case then closes by itself.
beforeAll(async () => {
  t = await startTestCluster('45s', starting.signal);
}, 600_000);
// A start-up still running (beforeAll timed out) is aborted: it stops what it started.
afterAll(async () => {
  starting.abort();
  await t?.stop();
}, 180_000);

/** Sends one alert per new identity, alternating intakes, and returns what each must end as. */
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

/**
 * Holds the provider: its action rows cannot be written while the returned lock is held, so
 * every action started meanwhile stays in flight, in a worker, until `release`.
 */
async function holdProvider(): Promise<{ release(): Promise<void> }> {
  // The owner's: Cordon's service role may not lock a table.
  const lock = new PgClient({ connectionString: t.cluster.databases.cordonOwnerUrl });
  await lock.connect();
  await lock.query('BEGIN');
  await lock.query('LOCK TABLE simulated_actions IN EXCLUSIVE MODE');
  return {
    release: async () => {
      await lock.query('COMMIT');
      await lock.end();
    },
  };
}

/** The workers (by identity) holding a started activity of the expected cases right now. */
async function workersInFlight(expected: Expectation[]): Promise<string[]> {
  const holders = await Promise.all(
    expected.map(async ({ identityId }) => {
      const { raw } = await t.client.workflow.getHandle(`contain:simulated:${identityId}`).describe();
      return (raw.pendingActivities ?? []).flatMap((a) => (a.lastWorkerIdentity ? [a.lastWorkerIdentity] : []));
    }),
  );
  return holders.flat();
}

// The SDK names a worker `<pid>@<host>`.
const heldBy = (holders: string[], worker: CordonProcess) =>
  holders.some((h) => h.startsWith(`${worker.proc.child.pid}@`));

describe('the locked namespace', () => {
  let workflowId: string;
  beforeAll(async () => {
    const id = t.inventory.add('auto', { id: 'locked-target' });
    ({ workflowId } = await postAlert(t.cluster.intakes[0], makeAlert({ identity: { provider: 'simulated', id } })));
  }, 120_000);

  async function attempts(connection: Connection) {
    const client = new Client({ connection });
    const handle = client.workflow.getHandle(workflowId);
    // One at a time, each awaited as it is made: a refusal never waits unobserved.
    const calls: Record<string, () => Promise<unknown>> = {
      start: () =>
        client.workflow.start('containment', { workflowId: 'contain:simulated:forged', taskQueue: 'cordon' }),
      signal: () => handle.signal(alertSignal, makeAlert()),
      update: () => handle.executeUpdate(controlUpdate, { args: [{ control: 'pause', by: 'mallory' }] }),
    };
    const codes: Record<string, unknown> = {};
    for (const [name, call] of Object.entries(calls))
      codes[name] = await call().then(
        () => 'allowed',
        (err: { code?: number; cause?: { code?: number } }) => err.cause?.code ?? err.code,
      );
    return codes;
  }

  // Tokens the cluster would refuse: its key but another audience or an expiry past, or another key.
  async function forgedTokens(): Promise<Record<string, string>> {
    const dir = mkdtempSync(path.join(tmpdir(), 'cordon-forged-'));
    const write = ['default:write'];
    const stranger = await makeTokenIssuer();
    return {
      none: '',
      reader: t.cluster.tokens.reader,
      otherAudience: writeToken(dir, 'aud', await t.cluster.issuer.mint('mallory', write, 1, 'another-cluster')),
      expired: writeToken(dir, 'expired', await t.cluster.issuer.mint('mallory', write, -1)),
      otherKey: writeToken(dir, 'key', await stranger.mint('mallory', write)),
    };
  }

  it('refuses to start, signal or update a case without a token, with a read-only one, or with a forged one', async () => {
    const denied = { start: PERMISSION_DENIED, signal: PERMISSION_DENIED, update: PERMISSION_DENIED };
    for (const [name, tokenFile] of Object.entries(await forgedTokens())) {
      // A token that does not verify is refused already when the client connects (its first call).
      const connection = await connectFrontend(t.cluster.frontend, tokenFile || undefined).catch(
        (err: { cause?: { code?: number } }) => err.cause?.code,
      );
      if (!(connection instanceof Connection)) {
        expect({ [name]: connection }).toEqual({ [name]: PERMISSION_DENIED });
        continue;
      }
      try {
        expect({ [name]: await attempts(connection) }).toEqual({ [name]: denied });
      } finally {
        await connection.close();
      }
    }
    // The reader's token is valid: it may look.
    const reader = await connectFrontend(t.cluster.frontend, t.cluster.tokens.reader);
    const seen = await new Client({ connection: reader }).workflow.getHandle(workflowId).describe();
    await reader.close();
    expect(seen.workflowId).toBe(workflowId);
    // Nothing the refused clients sent reached the case.
    const status = await t.client.workflow.getHandle(workflowId).query(statusQuery);
    expect(status.alerts).toHaveLength(1);
    expect(status.paused).toBe(false);
  }, 300_000);

  it('hands a renewed token to open client and worker connections: they go on after the old one expires', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cordon-rotation-'));
    // Long enough to connect on a loaded machine; the test then waits for it to expire.
    const SHORT_LIVED_S = 30;
    const mint = (seconds: number) => t.cluster.issuer.mint('cordon', ['default:write'], seconds / 3600);
    const tokenFile = writeToken(dir, 'cordon', await mint(SHORT_LIVED_S));
    const opened: { close(): Promise<void> }[] = [];
    const open = async <C extends { close(): Promise<void> }>(connecting: Promise<C>) => {
      const connection = await connecting;
      opened.push(connection);
      return connection;
    };
    const describeThrough = (connection: Connection) =>
      new Client({ connection }).workflow
        .getHandle(workflowId)
        .describe()
        .then(
          () => 'allowed',
          (err: { code?: number; cause?: { code?: number } }) => err.cause?.code ?? err.code,
        );
    try {
      const client = await open(connectFrontend(t.cluster.frontend, tokenFile));
      const settings = frontendSettings(t.cluster.frontend, tokenFile);
      const native = await open(NativeConnection.connect(temporalConnectionOptions(settings)));
      // The control: the same token on a connection nothing renews, served until the token expires.
      const stale = await open(connectFrontend(t.cluster.frontend, tokenFile));
      expect(await describeThrough(stale)).toBe('allowed');

      const refresher = new ApiKeyRefresher(tokenFile, readFileSync(tokenFile, 'utf8').trim(), testLogger);
      refresher.add(client);
      refresher.add(native);
      writeToken(dir, 'cordon', await mint(3600));
      expect(await refresher.refresh()).toBe(true);
      await eventually(async () => expect(await describeThrough(stale)).toBe(PERMISSION_DENIED), { timeout: 120_000 });

      expect(await describeThrough(client)).toBe('allowed');
      const execution = { workflowId };
      const described = await native.workflowService.describeWorkflowExecution({
        namespace: CLUSTER_NAMESPACE,
        execution,
      });
      expect(described.workflowExecutionInfo?.execution?.workflowId).toBe(workflowId);
    } finally {
      await Promise.all(opened.map((connection) => connection.close()));
    }
  }, 300_000);

  it('refuses a client without a certificate, or with one another CA signed; takes one the cluster CA signed', async () => {
    const token = readFileSync(t.cluster.tokens.operator, 'utf8');
    const stranger = makeClusterCerts(mkdtempSync(path.join(tmpdir(), 'cordon-stranger-')));
    const ca = readFileSync(t.cluster.certs.ca);
    const pair = (files: { cert: string; key: string }) => ({
      crt: readFileSync(files.cert),
      key: readFileSync(files.key),
    });
    const list = (tls: object) =>
      Connection.connect({ address: t.cluster.frontend.address, tls, apiKey: token, connectTimeout: 5_000 })
        .then((c) => c.workflowService.listWorkflowExecutions({ namespace: 'default' }).finally(() => c.close()))
        .then(
          () => 'allowed',
          () => 'refused',
        );
    const base = { serverNameOverride: 'localhost', serverRootCACertificate: ca };
    expect(await list(base)).toBe('refused');
    expect(await list({ ...base, clientCertPair: pair(stranger.cordon) })).toBe('refused');
    expect(await list({ ...base, clientCertPair: pair(t.cluster.certs.operator) })).toBe('allowed');
  });

  it('lets no client reach the services behind the frontend, even with a valid certificate and token', async () => {
    for (const service of ['internal-frontend', 'history', 'matching'] as const) {
      const reached = await connectFrontend(
        { ...t.cluster.frontend, address: t.cluster.temporal.address(service) },
        t.cluster.tokens.operator,
      ).then(
        (c) => c.close().then(() => 'connected'),
        () => 'refused',
      );
      expect({ [service]: reached }).toEqual({ [service]: 'refused' });
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

  it('SIGKILL of a worker holding actions in flight leaves the other to finish every case, the audit intact', async () => {
    const [victim] = t.cluster.workers;
    const provider = await holdProvider();
    const expected = await containAcrossIntakes(8, 'killed-worker');
    // Mid-containment, by construction: the victim holds an action the provider has not applied.
    await eventually(async () => expect(heldBy(await workersInFlight(expected), victim)).toBe(true), {
      timeout: 300_000,
    });
    await victim.kill();
    await provider.release();
    await expectNothingLost(expected);
    await victim.start();
  }, 900_000);

  it('a restart of the history service with actions in flight loses nothing', async () => {
    const provider = await holdProvider();
    const expected = await containAcrossIntakes(8, 'history-restart');
    await eventually(async () => expect((await workersInFlight(expected)).length).toBeGreaterThan(0), {
      timeout: 300_000,
    });
    await t.cluster.temporal.processes.get('history')!.stop();
    await provider.release();
    t.cluster.temporal.start('history');
    await expectNothingLost(expected);
    t.cluster.temporal.assertRunning();
  }, 900_000);

  it('a rolling restart of both workers under a steady alert stream loses no alert', async () => {
    const accepted: Expectation[] = [];
    let streaming = true;
    const stream = (async () => {
      for (let n = 0; streaming; n++) accepted.push(...(await containAcrossIntakes(2, `rolling-${n}`)));
    })();
    const streamFailed = stream.then(() => new Promise<never>(() => undefined));
    streamFailed.catch(() => undefined); // raced below; never unhandled meanwhile
    // The stream goes on while each worker is away; a failed delivery ends the test at once.
    const whileAway = (before: number) =>
      Promise.race([
        eventually(() => expect(accepted.length).toBeGreaterThan(before + 4), { timeout: 300_000 }),
        streamFailed,
      ]);
    for (const worker of t.cluster.workers) {
      await worker.stop();
      expect(worker.proc.child.exitCode).toBe(0); // drained, not killed
      await whileAway(accepted.length);
      await worker.start();
    }
    streaming = false;
    await stream;
    await expectNothingLost(accepted);
  }, 900_000);
});
