// The intake's pipeline for one alert, whoever carried it: `POST /v1/alerts` runs it after
// authentication and rate limits, `cordon alert send` runs it on a file. Reading the body
// (readAlert.ts), warnings, secret fingerprinting, large-evidence storage, the handover
// to Temporal and the metrics are here once, so a file behaves exactly as it would if posted.
import type { Client } from '@temporalio/client';
import type { FormatName } from '../alerts/formats';
import type { Alert, IdentityRef } from '../alerts/schema';
import { submitAlert, type Submission } from '../client/submitAlert';
import type { ContainmentContext } from '../domain/case';
import type { Inventory } from '../inventory/schema';
import type { EvidenceStore } from '../evidence/store';
import type { Logger } from '../log';
import { redactAlert } from '../secrets';
import { caseWorkflowId } from '../../workflows/definitions';
import { failedHandoverAnswer, handoverFailure, shedAnswer, type IntakeAnswer } from './answers';
import { deliveryIdOf, type DeliveryLedger } from './deliveries';
import type { IntakeMetrics } from './metrics';
import { readAlertBody, refusal, type AlertDelivery, type AlertReading, type Refusal } from './readAlert';
import type { Source } from './sources';
import { inventoryNow, warningsFor, type IdentityDirectory, type IntakeWarning } from './warnings';

/** Reads a new case's context as the worker would, and binds the case to the policy handed over. */
export interface CaseContextSource {
  read(identity: IdentityRef): Promise<ContainmentContext>;
  handedOver(caseId: string, context: ContainmentContext): Promise<void>;
}

/** What the pipeline needs; a process without the optional parts does without them. */
export interface AlertPipelineDeps {
  client: Client;
  taskQueue: string;
  searchAttributes: boolean;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Where the alert is counted: the intake's `/metrics`. */
  metrics?: IntakeMetrics;
  /** Where evidence too large for a workflow history goes; without it, evidence travels inline. */
  evidence?: EvidenceStore;
  /** The case context, when this process reads the worker's policy and inventory (`npm start`). */
  caseContext?: CaseContextSource;
  /** Webhook deliveries already accepted: a replay is refused. */
  deliveries?: DeliveryLedger;
  /** The worker's inventory and connectors: principals are resolved, and answers warn. */
  identities?: IdentityDirectory;
}

/** Counts a refusal (received and rejected) and answers it. */
export function refused(metrics: IntakeMetrics | undefined, r: Refusal): IntakeAnswer {
  metrics?.receivedAlert(r.format);
  metrics?.rejectedAlert(r.format, r.reason);
  return { status: r.status, body: { error: r.error, problems: r.problems } };
}

/** A delivery read with the worker's inventory as it is now (absent when it cannot be read). */
export interface DeliveryRead {
  inventory?: Inventory;
  reading: AlertReading;
}

/** Reads a delivery (`readAlertBody`) with the worker's inventory as it is now. */
export function readDelivery(
  delivery: AlertDelivery,
  { identities, log }: Pick<AlertPipelineDeps, 'identities' | 'log'>,
): DeliveryRead {
  const inventory = inventoryNow(identities, log);
  return { inventory, reading: readAlertBody(delivery, inventory) };
}

/**
 * Runs one delivery through the pipeline and answers it as the intake does. `read` is the
 * delivery's `readDelivery`, when the caller already has it.
 */
export async function acceptAlert(
  delivery: AlertDelivery,
  deps: AlertPipelineDeps,
  { inventory, reading }: DeliveryRead = readDelivery(delivery, deps),
): Promise<IntakeAnswer> {
  if (reading.outcome === 'refused') return refused(deps.metrics, reading);
  const { format } = reading;
  if (reading.outcome === 'ignored') {
    deps.metrics?.receivedAlert(format);
    deps.metrics?.ignoredAlert(format);
    deps.log.info({ format, reason: reading.reason }, 'alert ignored');
    return { status: 200, body: { ignored: true, format, reason: reading.reason } };
  }
  const { source, headers } = delivery;
  const signed = source?.hmacKey !== undefined && headers['x-hub-signature-256'] !== undefined;
  const replayed = await deps.deliveries?.replayProblem(sourceKey(source), headers, reading.payload, signed);
  if (replayed)
    return refused(deps.metrics, refusal(409, format, 'replayed', 'delivery refused as a replay', [replayed]));
  deps.metrics?.receivedAlert(format);
  const shadowed = delivery.shadow ? { ...reading.alert, shadow: true } : reading.alert;
  const known = { inventory: inventory !== undefined, providers: deps.identities?.providers };
  const warnings = warningsFor(shadowed, reading.resolution, known);
  // Redacted before it is stored: the evidence table must hold no more secrets than history.
  let alert = await redactAlert(shadowed);
  try {
    alert = (await deps.evidence?.offload(alert)) ?? alert;
  } catch (err) {
    deps.metrics?.rejectedAlert(format, 'evidence_store_unavailable');
    deps.log.error({ err, alertId: alert.id }, 'alert evidence not stored');
    return failedHandoverAnswer(503, { workflowId: caseWorkflowId(alert), alertId: alert.id }, 'store');
  }
  return handOver({ alert, format, warnings }, delivery, deps);
}

const sourceKey = (source: Source | undefined) => source?.name ?? '(anonymous)';

// Temporal takes the alert, or the answer says why not; never a 2xx for an alert it did not take.
async function handOver(
  { alert, format, warnings }: { alert: Alert; format: FormatName; warnings: IntakeWarning[] },
  { source, headers, respondAsync = false }: AlertDelivery,
  deps: AlertPipelineDeps,
): Promise<IntakeAnswer> {
  const { client, taskQueue, searchAttributes, caseContext, log } = deps;
  try {
    const context = await contextFor(alert.identity, deps);
    const submission = await submitAlert(client, taskQueue, alert, {
      searchAttributes,
      askDisposition: !respondAsync,
      context,
    });
    if (context && submission.runId)
      await caseContext
        ?.handedOver(submission.runId, context)
        .catch((err: Error) =>
          log.warn({ err: err.message }, 'case not bound to its policy: it acts under the current one only'),
        );
    const deliveryId = deliveryIdOf(headers);
    if (deliveryId)
      await deps.deliveries
        ?.accept(sourceKey(source), deliveryId)
        .catch((err: Error) => log.warn({ err: err.message }, 'delivery id not recorded'));
    deps.metrics?.acceptedAlert(format, submission.disposition);
    warnings.forEach((w) => deps.metrics?.warned(w.code));
    log.info({ alertId: alert.id, format, ...submission, warnings: warnings.map((w) => w.code) }, 'alert accepted');
    // Still 2xx: the alert is durable in its case; the warnings say what that case cannot do.
    const answer = { ...submission, alertId: alert.id, ...(warnings.length && { warnings }) };
    return handedOverAnswer(answer, format, respondAsync);
  } catch (err) {
    const { status, reason, grpcCode } = handoverFailure(err);
    deps.metrics?.rejectedAlert(format, reason);
    log.error({ err, alertId: alert.id, status, grpcCode }, 'alert not handed to Temporal');
    return failedHandoverAnswer(status, { workflowId: caseWorkflowId(alert), alertId: alert.id });
  }
}

// 200 (202 `pending`) with the disposition, or 429 when the case shed the alert.
function handedOverAnswer(
  answer: Submission & { alertId: string; warnings?: IntakeWarning[] },
  format: FormatName,
  respondAsync: boolean,
) {
  const preference = respondAsync ? { 'preference-applied': 'respond-async' } : undefined;
  if (answer.disposition === 'shed') {
    const shed = shedAnswer(answer);
    return { ...shed, headers: { ...shed.headers, ...preference } };
  }
  return { status: answer.disposition === 'pending' ? 202 : 200, headers: preference, body: { ...answer, format } };
}

// A context that cannot be read is no reason to refuse an alert: the case then reads its own.
async function contextFor(identity: IdentityRef, deps: AlertPipelineDeps): Promise<ContainmentContext | undefined> {
  try {
    return await deps.caseContext?.read(identity);
  } catch (err) {
    deps.log.warn({ err: (err as Error).message }, 'case context unreadable: the case opens with its own read');
    return undefined;
  }
}
