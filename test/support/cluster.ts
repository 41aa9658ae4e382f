// The production topology under test: `startCluster` as `npm run cluster` runs it, a client that
// holds the operator's certificate, token and payload key, and the shared audit database.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { parse, stringify } from 'yaml';
import { expect } from 'vitest';
import type { Alert } from '../../src/alerts';
import { startCluster, type Cluster } from '../../src/cluster';
import type { CordonProcess } from '../../src/cluster/cordon';
import { connectFrontend } from '../../src/cluster/namespace';
import { dataConverterFor } from '../../src/codec';
import { openDatabase, type Database } from '../../src/db';
import { testLogger } from './temporal';
import { TestInventory } from './scenario';

const BENCH_POLICY = path.resolve(__dirname, '..', '..', 'bench', 'policy.yaml');

export interface TestCluster {
  cluster: Cluster;
  client: Client;
  db: Database;
  inventory: TestInventory;
  stop(): Promise<void>;
}

// A webhook or cloud credentials in the shell must not reach the cluster's Cordon processes.
const inheritedEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CORDON_|TEMPORAL_|DATABASE_URL$|AWS_)/.test(k)));

/**
 * The cluster with the bench policy (rule by inventory environment: `auto` restricts, isolates
 * and revokes at once). A contained case stays open `caseHold` for alerts to merge into, then closes.
 */
export async function startTestCluster(caseHold: string, signal: AbortSignal): Promise<TestCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-cluster-test-'));
  const policyFile = path.join(dir, 'policy.yaml');
  writeFileSync(policyFile, stringify({ ...parse(readFileSync(BENCH_POLICY, 'utf8')), caseHold }));
  const inventory = new TestInventory();
  const cluster = await startCluster({
    logger: testLogger,
    signal,
    env: { ...inheritedEnv(), CORDON_POLICY_FILE: policyFile, CORDON_INVENTORY_FILE: inventory.file },
  });
  try {
    const connection = await connectFrontend(cluster.frontend, cluster.tokens.operator);
    const keys = { CORDON_PAYLOAD_KEYS_FILE: path.join(cluster.dir, 'payload-keys'), CORDON_DATA_DIR: dir };
    const client = new Client({ connection, dataConverter: dataConverterFor(keys) });
    const db = await openDatabase({ url: cluster.databases.cordonUrl, migrationUrl: cluster.databases.cordonOwnerUrl });
    const stop = async () => {
      await Promise.all([db.close(), connection.close()]);
      await cluster.stop();
    };
    return { cluster, client, db, inventory, stop };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** Posts `alert` to an intake and returns its answer; anything but 200/202 fails the test. */
export async function postAlert(
  intake: CordonProcess,
  alert: Alert,
): Promise<{ workflowId: string; disposition: string }> {
  const res = await fetch(`${intake.url}/v1/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alert),
  });
  const body = (await res.json()) as { workflowId: string; disposition: string };
  expect([200, 202], JSON.stringify(body)).toContain(res.status);
  return body;
}
