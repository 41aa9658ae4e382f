// `npm run chaos [-- --quick] [--workflows N] [--phases kill,restart,faults]`: containments under
// failure, then proof that nothing was lost, duplicated or mis-audited. Phases, each on its own
// identities, all on one persisted dev server, PostgreSQL and the real service process:
//   kill     SIGKILL the service (worker + intake) at random moments, restart it each time
//   restart  stop and restart the Temporal dev server (same database file) mid-run
//   faults   the provider fails 30% of calls transiently, with latency; retries show in /metrics
// Cases still open after --deadline-minutes count as lost. Prints `chaos: N workflows, lost L, duplicate actions D, audit mismatches M`; exits 1 unless all
// are 0, 2 on bad arguments. Writes bench/results/chaos-<time>.json.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { freePort } from '../src/net';
import { benchAlert, identityIds } from './support/alerts';
import { checkInvariants, exitCodeFor, summaryLine, type Expectation } from './support/invariants';
import { inBatches, resultsFile } from './support/stats';
import type { ServiceOptions } from './support/benchStack';
import { Stack, type CordonService } from './support/stack';

const PHASES = ['kill', 'restart', 'faults'] as const;
type Phase = (typeof PHASES)[number];
const ACTIONS = ['restrict', 'isolate', 'revoke'];
const random = (min: number, max: number) => min + Math.random() * (max - min);

function options() {
  try {
    const { values } = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        workflows: { type: 'string' },
        phases: { type: 'string', default: PHASES.join(',') },
        'fault-rate': { type: 'string', default: '0.3' },
        'latency-ms': { type: 'string', default: '250' },
        kills: { type: 'string' },
        'deadline-minutes': { type: 'string', default: '20' },
      },
    });
    // --quick: a run of about three minutes, for a check rather than a figure.
    values.workflows ??= values.quick ? '40' : '200';
    values.kills ??= values.quick ? '3' : '8';
    const phases = values.phases.split(',') as Phase[];
    const bad = phases.filter((p) => !PHASES.includes(p));
    if (bad.length) throw new Error(`--phases: unknown ${bad.join(', ')} (choose from ${PHASES.join(', ')})`);
    const number = (
      name: 'workflows' | 'fault-rate' | 'latency-ms' | 'kills' | 'deadline-minutes',
      min: number,
      max: number,
    ) => {
      const n = Number(values[name]);
      if (!Number.isFinite(n) || n < min || n > max)
        throw new Error(`--${name}: expected a number from ${min} to ${max}, got "${values[name]}"`);
      return n;
    };
    return {
      workflows: number('workflows', 1, 100_000),
      phases,
      faultRate: number('fault-rate', 0, 1),
      latencyMs: number('latency-ms', 0, 10_000),
      kills: number('kills', 0, 1000),
      deadlineMinutes: number('deadline-minutes', 1, 24 * 60),
    };
  } catch (err) {
    console.error(`chaos: ${(err as Error).message}`);
    process.exit(2);
  }
}

/** One phase's service, replaceable while alerts are in flight. */
class Target {
  done = false;
  constructor(
    readonly stack: Stack,
    public service: CordonService,
    private readonly serviceOptions: ServiceOptions & { port: number },
    readonly token: string,
  ) {}

  async restartService(signal: NodeJS.Signals): Promise<void> {
    await this.service.stop(signal);
    this.service = await this.stack.startService(this.serviceOptions);
  }

  /** Posts an alert the way a forwarder does: until the intake accepts it, whatever is down. */
  async deliver(identityId: string): Promise<string> {
    const alert = benchAlert(identityId);
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${this.serviceOptions.port}/v1/alerts/native`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        body: JSON.stringify(alert),
      }).catch(() => undefined);
      if (res?.ok) return ((await res.json()) as { alertId: string }).alertId;
      // Down, throttled or unavailable: retry. Any other refusal is a bug a retry cannot fix.
      if (res && res.status < 500 && res.status !== 429)
        throw new Error(`intake refused ${alert.id}: ${res.status} ${await res.text()}`);
      await res?.arrayBuffer();
      await sleep(250);
    }
  }

  /**
   * Waits for every case to close, riding out a server that is down for a while. Cases still
   * open at the deadline (say, in needs-attention after a stage exhausted its retries) are left
   * for the check to count; returns how many there were.
   */
  async allClosed(ids: string[], deadline: number): Promise<number> {
    const open = await inBatches(ids, 20, async (id) => {
      const handle = this.stack.client.workflow.getHandle(`contain:simulated:${id}`);
      while (Date.now() < deadline) {
        try {
          const { status } = await handle.describe();
          if (status.name !== 'RUNNING') return false;
        } catch {
          // the server is down, or the case not yet started: ask again
        }
        await sleep(500);
      }
      return true;
    });
    return open.filter(Boolean).length;
  }
}

/** What each phase does to the system while its containments run. */
const DISRUPTIONS: Record<
  Phase,
  (target: Target, opts: ReturnType<typeof options>) => Promise<Record<string, number>>
> = {
  async kill(target, { kills }) {
    let done = 0;
    while (!target.done && done < kills) {
      await sleep(random(1_000, 6_000));
      if (target.done) break;
      await target.restartService('SIGKILL');
      done += 1;
    }
    return { kills: done };
  },
  async restart(target) {
    let restarts = 0;
    for (; restarts < 2 && !target.done; restarts++) {
      await sleep(random(2_000, 8_000));
      if (target.done) break;
      await target.stack.stopTemporal();
      await sleep(random(1_000, 5_000)); // how long the server stays down
      await target.stack.restartTemporal();
    }
    return { serverRestarts: restarts };
  },
  async faults() {
    return {};
  },
};

/** Failed activity executions (ordinary and local) the worker reports on the service's /metrics, by type. */
async function failedActivities(service: CordonService): Promise<Record<string, number>> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const failed: Record<string, number> = {};
  // Local activities (snapshots, verifications) have their own counter.
  for (const [, type, n] of text.matchAll(
    /^temporal_(?:local_)?activity_execution_failed\{[^}]*activity_type="([^"]+)"[^}]*\} (\d+)/gm,
  )) {
    failed[type] = (failed[type] ?? 0) + Number(n);
  }
  return failed;
}

async function runPhase(stack: Stack, phase: Phase, opts: ReturnType<typeof options>) {
  const ids = identityIds(`chaos-${phase}`, opts.workflows);
  const { sourcesFile, token } = stack.source(`chaos-${phase}`);
  const serviceOptions = {
    policyFile: stack.policy(phase, { caseHold: '20s' }),
    inventoryFile: stack.inventory(phase, [{ environment: 'auto', ids }]),
    sourcesFile,
    port: await freePort(),
    env:
      phase === 'faults'
        ? <Record<string, string>>{
            CORDON_SIMULATED_FAULT_RATE: String(opts.faultRate),
            CORDON_SIMULATED_LATENCY_MS: String(opts.latencyMs),
          }
        : {},
  };
  const target = new Target(stack, await stack.startService(serviceOptions), serviceOptions, token);
  const started = performance.now();
  // Its failure is kept for later, never left unhandled while alerts are still being sent.
  const disrupted = DISRUPTIONS[phase](target, opts).then(
    (r) => ({ r }),
    (err: unknown) => ({ err }),
  );
  // A steady stream, so disruptions land on every step: intake, start, actions, audit, close.
  const alertIds = await inBatches(ids, 10, async (id) => {
    await sleep(random(0, 1_000));
    return target.deliver(id);
  });
  // A disruption that fails (a server that will not come back) ends the phase at once.
  const disruptionFailed = disrupted.then((o) =>
    'err' in o ? Promise.reject(o.err) : new Promise<never>(() => undefined),
  );
  const unclosed = await Promise.race([
    target.allClosed(ids, Date.now() + opts.deadlineMinutes * 60_000),
    disruptionFailed,
  ]);
  target.done = true;
  const outcome = await disrupted;
  if ('err' in outcome) throw outcome.err;
  const disruptions = { ...outcome.r, ...(unclosed && { unclosedAtDeadline: unclosed }) };
  const failed = phase === 'faults' ? await failedActivities(target.service) : undefined;
  await target.service.stop();
  const expected: Expectation[] = ids.map((identityId, i) => ({
    identityId,
    alertIds: [alertIds[i]],
    actions: ACTIONS,
  }));
  return { phase, seconds: (performance.now() - started) / 1000, disruptions, failedActivities: failed, expected };
}

async function run(): Promise<void> {
  const opts = options();
  const stack = await Stack.start('chaos');
  try {
    const phases = [];
    for (const phase of opts.phases) {
      const result = await runPhase(stack, phase, opts);
      console.log(
        `${phase}: ${result.expected.length} containments in ${result.seconds.toFixed(0)} s, ${JSON.stringify(result.disruptions)}${result.failedActivities ? `, failed activity executions ${JSON.stringify(result.failedActivities)}` : ''}`,
      );
      phases.push(result);
    }
    const report = await checkInvariants(
      stack.client,
      stack.db,
      phases.flatMap((p) => p.expected),
    );
    // Injected provider faults must show up as failed (then retried) activity executions.
    const invisible = phases.filter(
      (p) => p.failedActivities && opts.faultRate > 0 && Object.keys(p.failedActivities).length === 0,
    );
    for (const p of invisible)
      report.problems.push(`${p.phase}: injected faults left no failed activity executions in /metrics`);
    for (const line of report.problems) console.log(`  ${line}`);
    console.log(summaryLine(report));
    const results = resultsFile('chaos');
    results.write({
      options: opts,
      phases: phases.map(({ expected, ...p }) => ({ ...p, containments: expected.length })),
      counts: {
        workflows: report.workflows,
        lost: report.lost,
        duplicateActions: report.duplicateActions,
        auditMismatches: report.auditMismatches,
      },
      problems: report.problems,
    });
    console.log(`results: ${results.file}`);
    process.exitCode = invisible.length ? 1 : exitCodeFor(report);
  } finally {
    await stack.close();
  }
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
