// The intake's pipeline for one alert, whoever carried it: `POST /v1/alerts` runs it after
// authentication and rate limits, `cordon alert send` runs it on a file. Decoding, validation,
// principal resolution and warnings, secret fingerprinting, large-evidence storage, the handover
// to Temporal and the metrics are here once, so a file behaves exactly as it would if posted.
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { normalizeAlert, type AlertFormat, type FormatName } from '../alerts/formats';
import type { Alert, FieldProblem, IdentityRef } from '../alerts/schema';
import { submitAlert, type Submission } from '../client/submitAlert';
import type { ContainmentContext } from '../domain/case';
import type { Resolution } from '../inventory/resolve';
import type { Inventory } from '../inventory/schema';
import { evidenceReferenceIn, type EvidenceStore } from '../evidence/store';
import type { Logger } from '../log';
import { redactAlert } from '../secrets';
import { caseWorkflowId } from '../../workflows/definitions';
import { failedHandoverAnswer, handoverFailure, shedAnswer, type IntakeAnswer } from './answers';
import { decodeJsonBody } from './body';
import { deliveryIdOf, type DeliveryLedger } from './deliveries';
import type { IntakeMetrics, RejectReason } from './metrics';
import type { Source } from './sources';
import { inventoryNow, warningsFor, type IdentityDirectory, type IntakeWarning } from './warnings';

type Headers = Record<string, string | string[] | undefined>;

/** One alert as it arrived: its exact bytes and what came with them. */
export interface AlertDelivery {
  raw: Buffer;
  /** The format the path or `--format` names; undefined: detected from the payload. */
  format?: AlertFormat;
  /** The authenticated source; undefined for loopback clients without a sources file, and the CLI. */
  source?: Source;
  headers: Headers;
  /** Turns shadow mode on (`?shadow=true`, `--shadow`); nothing turns it off. */
  shadow?: boolean;
  /** Hand the alert over without asking its case what it made of it (`Prefer: respond-async`). */
  respondAsync?: boolean;
}

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

/** Why an alert is refused: the answer's status, error and fields, and the metrics' reason. */
export interface Refusal {
  outcome: 'refused';
  status: number;
  format: FormatName | 'unknown';
  reason: RejectReason;
  error: string;
  problems: FieldProblem[];
}

/** A body read as an alert: a native alert (with the payload it came from), an event that opens nothing, or a refusal. */
export type AlertReading =
  | { outcome: 'alert'; format: FormatName; alert: Alert; resolution: Resolution; payload: unknown }
  | { outcome: 'ignored'; format: FormatName; reason: string }
  | Refusal;

export const refusal = (
  status: number,
  format: FormatName | 'unknown',
  reason: RejectReason,
  error: string,
  problems: FieldProblem[],
): Refusal => ({ outcome: 'refused', status, format, reason, error, problems });

/** The refusal of a format the source may not send. */
export const formatNotAllowed = (source: Source, format: FormatName) =>
  refusal(403, format, 'format_not_allowed', 'format not allowed for this source', [
    { field: 'format', message: `source ${source.name} may send ${source.formats.join(', ')}, not ${format}` },
  ]);

/** Counts a refusal (received and rejected) and answers it. */
export function refused(metrics: IntakeMetrics | undefined, r: Refusal): IntakeAnswer {
  metrics?.receivedAlert(r.format);
  metrics?.rejectedAlert(r.format, r.reason);
  return { status: r.status, body: { error: r.error, problems: r.problems } };
}

const sha256 = (raw: Buffer) => `sha256:${createHash('sha256').update(raw).digest('hex')}`;

/**
 * Decodes and validates a body in its format (named or detected), resolving its principal through
 * `inventory` when given: no side effects, nothing counted.
 */
export function readAlertBody({ raw, format, source, headers }: AlertDelivery, inventory?: Inventory): AlertReading {
  const decoded = decodeJsonBody(raw);
  if (!decoded.ok)
    return refusal(400, format?.name ?? 'unknown', decoded.reason, 'body is not usable JSON', [decoded.problem]);
  const context = { source: source?.name, provider: source?.provider, headers, rawDigest: sha256(raw), inventory };
  const normalized = normalizeAlert(decoded.value, context, format);
  const name = normalized.format;
  if (normalized.outcome === 'invalid')
    return refusal(400, name, 'invalid_alert', `invalid ${name} alert`, normalized.problems);
  if (normalized.outcome === 'unusable')
    return refusal(422, name, 'unusable_alert', `${name} alert names nothing Cordon can contain`, normalized.problems);
  if (source && !source.formats.includes(normalized.format)) return formatNotAllowed(source, normalized.format);
  if (normalized.outcome === 'ignored') return normalized;
  // That shape means "stored by the intake": from a forwarder it would be a false fingerprint.
  if (evidenceReferenceIn(normalized.alert.evidence))
    return refusal(400, normalized.format, 'invalid_alert', `invalid ${normalized.format} alert`, [
      { field: 'evidence', message: 'evidenceRef and evidenceBytes alone are set by the intake, not by a forwarder' },
    ]);
  return { ...normalized, payload: decoded.value };
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
    const { status, reason } = handoverFailure(err);
    deps.metrics?.rejectedAlert(format, reason);
    log.error({ err, alertId: alert.id, status }, 'alert not handed to Temporal');
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
