// The intake role: the HTTP server that takes alerts, decisions and callbacks, and serves
// `/healthz`, `/metrics`, the audit read API and the Web UI's codec.
import type { ConnectorSettings } from '../../activities/connectors/types';
import { servedProviders } from '../../activities/servedConnectors';
import { caseContextSource, trustedConfig } from '../../activities/trustedConfig';
import type { ApproverDirectory } from '../approvers/authenticate';
import { serviceAuditToken } from '../audit/token';
import { uiOrigins } from '../config';
import { buildIntake, type IntakeDeps } from '../intake/server';
import type { Source } from '../intake/sources';
import type { Service } from './shared';

/** What the intake knows of a worker in the same process (absent: the worker runs elsewhere). */
export interface WorkerBeside {
  /** The worker's connectors: the intake warns about alerts none of them can act on. */
  connectors: ConnectorSettings;
  /** Where the worker's Temporal runtime serves its metrics; `/metrics` appends them. */
  metricsUrl: string;
}

// Intake and worker in one process share the files: a new case needs no opening read, and the
// intake knows which providers have a connector. A separate intake knows neither; its cases read
// their own context, and its answers say nothing about connectors.
function workerView({ db, config }: Service, worker: WorkerBeside | undefined): Partial<IntakeDeps> {
  const files = { policyFile: config.CORDON_POLICY_FILE, inventoryFile: config.CORDON_INVENTORY_FILE };
  const inventory = trustedConfig(db, files).inventory;
  if (!worker) return { identities: { inventory } };
  return {
    workerMetricsUrl: worker.metricsUrl,
    caseContext: caseContextSource(db, files),
    identities: { inventory, providers: new Set(servedProviders({ db, settings: worker.connectors })) },
  };
}

/** Starts the intake on CORDON_HTTP_HOST:CORDON_HTTP_PORT. */
export async function serveIntake(
  service: Service,
  { sources, approvers, worker }: { sources?: Source[]; approvers: ApproverDirectory; worker?: WorkerBeside },
): Promise<void> {
  const { config, logger, stops, dataConverter } = service;
  const codec = dataConverter.payloadCodecs?.[0];
  const intake = buildIntake({
    client: service.client,
    taskQueue: config.CORDON_TASK_QUEUE,
    logger,
    searchAttributes: config.CORDON_SEARCH_ATTRIBUTES,
    db: service.db,
    auditToken: serviceAuditToken(config),
    auditNotary: service.auditNotary,
    sources,
    maxBodyBytes: config.CORDON_MAX_BODY_BYTES,
    evidenceInlineBytes: config.CORDON_EVIDENCE_INLINE_BYTES,
    ...workerView(service, worker),
    approvers,
    policyFile: config.CORDON_POLICY_FILE,
    slackSigningSecret: config.CORDON_SLACK_SIGNING_SECRET,
    slackTeamId: config.CORDON_SLACK_TEAM_ID,
    codec: codec && { codec, uiOrigins: uiOrigins(config) },
  });
  await intake.listen({ host: config.CORDON_HTTP_HOST, port: config.CORDON_HTTP_PORT });
  stops.push({ step: 'intake closed', run: () => intake.close() });
}
