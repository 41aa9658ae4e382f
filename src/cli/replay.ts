// `cordon replay`: replays recorded workflow histories against the current workflow code, so a
// change that would break running workflows (nondeterminism) is caught before it is deployed.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import { Runtime, Worker } from '@temporalio/worker';
import pino from 'pino';
import { connectClient } from '../client/connect';
import { dataConverterFor } from '../codec';
import { loadConfig } from '../config';
import { createLogger } from '../log';
import { historyFromJson, workflowIdIn } from '../temporal/historyJson';
import { temporalLogger } from '../../worker/runtime';
import { loadWorkflowBundle } from '../../worker/bundle';
import { ExitCode, UsageError } from './errors';
import { printJson, readInput } from './io';

/** One history to replay, and how to name it in the report. */
export interface ReplaySource {
  history: History;
  workflowId: string;
  /** The file it came from, or the run id it was fetched for. */
  origin: { file: string } | { runId: string };
}

/** What `cordon replay` prints: how many replayed, and each one that did not. */
export interface ReplayReport {
  replayed: number;
  failed: { workflowId: string; file?: string; runId?: string; error: string }[];
}

/** Reads `temporal workflow show --output json` files; an unreadable or invalid file is a usage error. */
export function historiesFromFiles(files: string[]): ReplaySource[] {
  return files.map((file) => {
    const text = readInput(file).toString('utf8');
    let history: History;
    try {
      history = historyFromJson(JSON.parse(text));
    } catch (err) {
      throw new UsageError(
        `${file} is not a workflow history (temporal workflow show --output json): ${(err as Error).message}`,
      );
    }
    if (!history.events?.length) throw new UsageError(`${file} holds no history events`);
    // Older servers do not record the workflow id; the file name stands in for it.
    return { history, workflowId: workflowIdIn(history) ?? path.basename(file, '.json'), origin: { file } };
  });
}

/** Every execution a visibility query matches (e.g. `WorkflowType="containIdentity"`), with its history. */
export async function* historiesFromQuery(client: Client, query: string): AsyncGenerator<ReplaySource> {
  for await (const execution of client.workflow.list({ query })) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    yield { history, workflowId: execution.workflowId, origin: { runId: execution.runId } };
  }
}

// The replay worker logs every failure (core prints straight to stdout unless forwarded); the
// report names them already, and stdout is the report: forward to a stderr logger, errors only.
let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = process.env.CORDON_LOG_LEVEL === 'debug' ? 'debug' : 'error';
  Runtime.install({
    logger: temporalLogger(createLogger(level, pino.destination(2))),
    shutdownSignals: [],
    telemetryOptions: {
      logging: { filter: { core: level.toUpperCase() as 'ERROR' | 'DEBUG', other: 'ERROR' }, forward: {} },
    },
  });
}

/** Replays each history, one at a time, and reports those that fail (nondeterminism or otherwise). */
export async function replayHistories(
  sources: Iterable<ReplaySource> | AsyncIterable<ReplaySource>,
  bundlePath?: string,
  dataConverter?: DataConverter,
): Promise<ReplayReport> {
  quietRuntime();
  const workflowBundle = await loadWorkflowBundle(bundlePath);
  // The replayer asks for one history at a time and yields its result before the next, so
  // the last source handed over is the one each result belongs to.
  let current: ReplaySource | undefined;
  async function* handOver() {
    for await (const source of sources) {
      current = source;
      yield { history: source.history, workflowId: source.workflowId };
    }
  }
  const report: ReplayReport = { replayed: 0, failed: [] };
  for await (const result of Worker.runReplayHistories({ workflowBundle, dataConverter }, handOver())) {
    report.replayed += 1;
    if (result.error)
      report.failed.push({
        workflowId: result.workflowId,
        ...current!.origin,
        error: `${result.error.name}: ${result.error.message}`,
      });
  }
  return report;
}

/**
 * `replay FILE... | --query Q [--bundle FILE]`: prints the report as JSON; exits 1 naming each
 * workflow that did not replay, 2 on usage errors. Without a bundle, bundles the sources.
 */
export async function replayCommand(files: string[], opts: { query?: string; bundle?: string }): Promise<number> {
  if (!files.length && !opts.query)
    throw new UsageError('replay: name history files, or --query to fetch them from Temporal');
  if (files.length && opts.query) throw new UsageError('replay: name files or --query, not both');
  const config = loadConfig();
  const bundlePath = opts.bundle ?? config.CORDON_WORKFLOW_BUNDLE;
  if (bundlePath && !existsSync(bundlePath)) throw new UsageError(`no workflow bundle at ${bundlePath}`);
  let report: ReplayReport;
  if (opts.query) {
    const client = await connectClient(config);
    try {
      report = await replayHistories(historiesFromQuery(client, opts.query), bundlePath, dataConverterFor(config));
    } finally {
      await client.connection.close();
    }
  } else {
    report = await replayHistories(historiesFromFiles(files), bundlePath, dataConverterFor(config));
  }
  printJson(report);
  // A query that matched nothing checked nothing (a typo, the wrong namespace): never a pass.
  if (opts.query && report.replayed === 0 && !report.failed.length)
    throw new UsageError(`replay: no workflow matches ${opts.query}`);
  for (const f of report.failed)
    console.error(`cordon: ${f.workflowId} (${f.file ?? `run ${f.runId}`}) does not replay: ${f.error}`);
  return report.failed.length ? ExitCode.failure : ExitCode.ok;
}
