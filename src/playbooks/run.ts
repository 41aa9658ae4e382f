// Runs playbook tests as real cases: one time-skipping Temporal test server and one in-memory
// store for the whole run; per test the store is emptied and a Cordon worker started whose
// simulated identity system plays every provider the test names. Needs no running service.
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { createLogger } from '../log';
import { openDatabase, type Database } from '../db';
import { loadInventory } from '../policy/load';
import { resolveTestServer, serverExecutable } from '../temporal/binaries';
import { loadWorkflowBundle } from '../../worker/bundle';
import { installRuntime } from '../../worker/runtime';
import { createWorker } from '../../worker/worker';
import type { LoadedFile, LoadedStep, LoadedTest } from './load';
import { firstMismatch, observeCase, reachedBy, type Mismatch, type Reached } from './observe';
import type { Expectation } from './schema';
import { settle } from './settle';
import { caseOf, playStep, StepFailed, type TestRun } from './timeline';
import { UNRESOLVED_PROVIDER } from '../domain/unresolved';

/** How one test ended: `failure` says at which step (its line), what was expected and what happened. */
export interface TestResult {
  file: string;
  test: string;
  line: number;
  passed: boolean;
  /** Wall-clock time the test took, with its worker's start. */
  seconds: number;
  /** The policy's rules and guards the test's cases reached (what a suite covers). */
  reached: Reached;
  failure?: { line: number; step: string } & ({ mismatch: Mismatch & { standing: string } } | { error: string });
}

const quiet = createLogger('silent');
const NONE: Reached = { rules: [], guards: [] };

/** The providers a file's cases can name: the simulated system stands in for each. */
function providersOf(file: LoadedFile): string[] {
  const named = file.tests.flatMap((t) => t.steps.flatMap((s) => ('alert' in s ? [s.alert.identity.provider] : [])));
  const listed = loadInventory(file.inventoryFile).identities.map((i) => i.provider);
  // An unresolved principal has no identity system to stand in for: its case only observes.
  return [...new Set([...named, ...listed])].filter((p) => p !== 'simulated' && p !== UNRESOLVED_PROVIDER);
}

// Every test starts from an empty store (migrations kept): no audit, decision, fault or identity
// state of an earlier test can change what a later one sees. Truncating takes milliseconds where a
// new embedded database takes seconds.
async function emptyStore(db: Database): Promise<void> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT quote_ident(tablename) AS name FROM pg_tables
     WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'`,
  );
  await db.query(`TRUNCATE ${rows.map((r) => r.name).join(', ')}`);
}

const stepName = (step: LoadedStep) => Object.keys(step).find((k) => k !== 'line')!;

/** One time-skipping server for a run of tests, which take turns on its clock. */
export class PlaybookRunner {
  private constructor(
    private readonly env: TestWorkflowEnvironment,
    private readonly client: Client,
    private readonly db: Database,
    private readonly workflowBundle: Awaited<ReturnType<typeof loadWorkflowBundle>>,
  ) {}

  /** Starts the test server and bundles the workflows (or uses the prebuilt `bundlePath`). */
  static async start(bundlePath?: string): Promise<PlaybookRunner> {
    installRuntime(quiet);
    const [env, db, bundle] = await Promise.all([
      TestWorkflowEnvironment.createTimeSkipping({ server: { executable: serverExecutable(resolveTestServer()) } }),
      openDatabase({}),
      loadWorkflowBundle(bundlePath),
    ]);
    const client = new Client({ connection: env.connection, namespace: env.namespace });
    return new PlaybookRunner(env, client, db, bundle);
  }

  /** Runs one test of `file`; never throws for what the test does, only reports it. */
  async run(file: LoadedFile, test: LoadedTest): Promise<TestResult> {
    await emptyStore(this.db);
    const run: TestRun = {
      env: this.env,
      client: this.client,
      db: this.db,
      taskQueue: `playbook-${randomUUID()}`,
      cases: new Map(),
    };
    const started = Date.now();
    const worker = await this.startWorker(file, run.taskQueue);
    try {
      const { failure, reached } = await worker.runUntil(async () => {
        const failure = await this.play(run, test);
        // A case that cannot say which rules shaped it (its run failed) fails the test, never the run.
        const reached = await reachedBy(run.client, [...run.cases.keys()]).catch((err: Error) => err);
        if (!(reached instanceof Error)) return { failure, reached };
        return { failure: failure ?? { line: test.line, step: 'end', error: reached.message }, reached: NONE };
      });
      const base = {
        file: file.file,
        test: test.name,
        line: test.line,
        seconds: (Date.now() - started) / 1000,
        reached,
      };
      return failure ? { ...base, passed: false, failure } : { ...base, passed: true };
    } finally {
      const terminate = (id: string) => run.client.workflow.getHandle(id).terminate('test over');
      await Promise.all([...run.cases.keys()].map((id) => terminate(id).catch(() => undefined)));
    }
  }

  private startWorker(file: LoadedFile, taskQueue: string) {
    return createWorker({
      connection: this.env.nativeConnection,
      namespace: this.env.namespace ?? 'default',
      taskQueue,
      workflowBundle: this.workflowBundle,
      db: this.db,
      client: this.client,
      policyFile: file.policyFile,
      inventoryFile: file.inventoryFile,
      uiUrl: 'http://127.0.0.1:8233',
      logger: quiet,
      connectors: { simulatedStandIns: providersOf(file) },
    });
  }

  private async play(run: TestRun, test: LoadedTest): Promise<TestResult['failure']> {
    for (const step of test.steps) {
      const name = stepName(step);
      try {
        if ('expect' in step) {
          const mismatch = await this.check(run, step.expect);
          if (mismatch) return { line: step.line, step: name, mismatch };
          continue;
        }
        await playStep(run, step);
        await settle(run.client, [...run.cases.keys()]);
      } catch (err) {
        return {
          line: step.line,
          step: name,
          error: err instanceof StepFailed ? err.message : String((err as Error).message ?? err),
        };
      }
    }
    if (!test.expect) return undefined;
    const mismatch = await this.check(run, test.expect).catch((err: Error) => err);
    if (mismatch instanceof Error) return { line: test.expect.line, step: 'expect', error: mismatch.message };
    return mismatch && { line: test.expect.line, step: 'expect', mismatch };
  }

  private async check(run: TestRun, want: Expectation) {
    const { workflowId, identityId } = caseOf(run, want.case);
    return firstMismatch(want, await observeCase(run.client, run.db, workflowId, identityId));
  }

  async stop(): Promise<void> {
    await Promise.all([this.env.teardown(), this.db.close()]);
  }
}
