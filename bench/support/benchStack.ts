// What the throughput and storm benches need of the servers they run on, the dev server
// (stack.ts) or the production-shaped cluster (clusterStack.ts): clients, the audit database, the
// bench's files, Cordon started on them, and the bare baseline worker.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { parse, stringify } from 'yaml';
import type { Database } from '../../src/db';
import { newToken } from '../../src/intake/sources';
import type { BareWorker } from './children';

const BASE_POLICY = path.resolve(__dirname, '..', 'policy.yaml');

/** What a service is started with, beyond the stack's server, database and task queue. */
export interface ServiceOptions {
  policyFile: string;
  inventoryFile: string;
  sourcesFile?: string;
  env?: Record<string, string>;
}

/** Cordon as a bench drives it: the worker processes to watch and the intakes to post to. */
export interface RunningCordon {
  workerPids: number[];
  intakeUrls: string[];
  stop(): Promise<void>;
}

/** Whose timed work a stretch is: Cordon's, or the bare floor's. */
export type Side = 'cordon' | 'floor';

export interface BenchStack {
  readonly taskQueue: string;
  readonly bareTaskQueue: string;
  /** Encrypts and decrypts payloads with Cordon's key. */
  readonly client: Client;
  /** For the bare worker: the baseline does the user's work, without Cordon's encryption. */
  readonly bareClient: Client;
  readonly db: Database;
  policy(name: string, overrides?: Record<string, unknown>): string;
  inventory(name: string, groups: { environment: string; ids: string[] }[]): string;
  source(name: string): { sourcesFile: string; token: string };
  startService(options: ServiceOptions): Promise<RunningCordon>;
  startBareWorker(): Promise<BareWorker>;
  /** Runs one side's timed work, `units` of it; the cluster stack records each component's CPU over it. */
  during<T>(side: Side, units: number, work: () => Promise<T>): Promise<T>;
}

/** The files a bench writes into its stack's directory. */
export class BenchFiles {
  constructor(readonly dir: string) {}

  /** Writes a policy: the bench base policy with top-level fields replaced. */
  policy(name: string, overrides: Record<string, unknown> = {}): string {
    const file = path.join(this.dir, `${name}.policy.yaml`);
    writeFileSync(file, stringify({ ...parse(readFileSync(BASE_POLICY, 'utf8')), ...overrides }));
    return file;
  }

  /** Writes an inventory of simulated identities in `environment` (which picks the policy rule). */
  inventory(name: string, groups: { environment: string; ids: string[] }[]): string {
    const file = path.join(this.dir, `${name}.inventory.yaml`);
    const identities = groups.flatMap(({ environment, ids }) =>
      ids.map((id) => ({ provider: 'simulated', id, class: 'ephemeral', environment, owner: 'bench' })),
    );
    writeFileSync(file, stringify({ identities }));
    return file;
  }

  /** Writes a sources file with one bearer-token source that may send native alerts, unthrottled. */
  source(name: string): { sourcesFile: string; token: string } {
    const { token, hash } = newToken();
    const sourcesFile = path.join(this.dir, `${name}.sources.yaml`);
    writeFileSync(
      sourcesFile,
      stringify({
        sources: [{ name, formats: ['native'], tokens: [hash], rateLimit: { perSecond: 1e6, burst: 1e6 } }],
      }),
    );
    return { sourcesFile, token };
  }
}
