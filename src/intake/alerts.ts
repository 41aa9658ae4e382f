import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { formatNamed, normalizeAlert, type FormatName } from '../alerts/formats';
import type { FieldProblem } from '../alerts/schema';
import { submitAlert } from '../client/submitAlert';
import type { IdentityRef } from '../alerts/schema';
import type { ContainmentContext } from '../domain/case';
import { evidenceReferenceIn, type EvidenceStore } from '../evidence/store';
import { redactAlert } from '../secrets';
import { caseWorkflowId } from '../../workflows/definitions';
import { authenticate, type Sender } from './authenticate';
import { decodeJsonBody } from './body';
import { deliveryIdOf, type DeliveryLedger } from './deliveries';
import { failedHandoverAnswer, handoverFailure, shedAnswer } from './answers';
import { inventoryNow, warningsFor, type IdentityDirectory } from './warnings';
import type { IntakeMetrics, RejectReason } from './metrics';
import { RateLimiter, type Rate } from './rateLimit';
import type { Source } from './sources';

/** What the alert routes need. */
export interface AlertRouteDeps {
  client: Client;
  taskQueue: string;
  searchAttributes: boolean;
  /** Undefined: no sources file, so only loopback clients may post, unauthenticated. */
  sources?: Source[];
  metrics: IntakeMetrics;
  /** The case context, when this process reads the worker's policy and inventory (`npm start`). */
  caseContext?: CaseContextSource;
  /** Webhook deliveries already accepted: a replay is refused. */
  deliveries: DeliveryLedger;
  /** Where evidence too large for a workflow history goes; without it, evidence travels inline. */
  evidence?: EvidenceStore;
  /** The worker's inventory and connectors: principals are resolved, and answers warn. */
  identities?: IdentityDirectory;
}

/** Reads a new case's context as the worker would, and binds the case to the policy handed over. */
export interface CaseContextSource {
  read(identity: IdentityRef): Promise<ContainmentContext>;
  handedOver(caseId: string, context: ContainmentContext): Promise<void>;
}

// The unconfigured intake serves one operator on loopback; it still has a ceiling.
const ANONYMOUS_RATE: Rate = { perSecond: 1_000, burst: 2_000 };
const NO_BODY = Buffer.alloc(0);
const sha256 = (raw: Buffer) => `sha256:${createHash('sha256').update(raw).digest('hex')}`;

/** `POST /v1/alerts` (format detected) and `POST /v1/alerts/{format}`. */
export const alertRoutes =
  ({
    client,
    taskQueue,
    searchAttributes,
    sources,
    metrics,
    caseContext,
    deliveries,
    evidence,
    identities,
  }: AlertRouteDeps): FastifyPluginCallback =>
  (app, _options, done) => {
    const limiter = new RateLimiter();

    // Labels are only ever known format names or `unknown`: never request text (cardinality).
    const reject = (
      reply: FastifyReply,
      status: number,
      format: FormatName | 'unknown',
      reason: RejectReason,
      error: string,
      problems: FieldProblem[],
    ) => {
      metrics.receivedAlert(format);
      metrics.rejectedAlert(format, reason);
      return reply.code(status).send({ error, problems });
    };

    const unauthenticated = (
      request: FastifyRequest,
      reply: FastifyReply,
      label: FormatName | 'unknown',
      reason: string,
    ) => {
      request.log.warn({ ip: request.ip, path: request.url.slice(0, 200), reason }, 'unauthenticated alert request');
      reply.header('www-authenticate', 'Bearer realm="cordon"');
      return reject(reply, 401, label, 'unauthenticated', 'authentication required', [
        { field: 'authorization', message: reason },
      ]);
    };

    // Bearer tokens (and the loopback rule) need no body: a stranger is refused before the intake
    // reads, buffers or parses anything it sent. Only signed webhooks wait for their body.
    const earlySenders = new WeakMap<FastifyRequest, Sender>();
    app.addHook('onRequest', async (request, reply) => {
      if (request.headers.authorization === undefined && request.headers['x-hub-signature-256'] !== undefined) return;
      const sender = authenticate(sources, request.headers, NO_BODY, request.ip);
      if (!sender.ok) {
        const format = formatNamed((request.params as { format?: string }).format ?? '');
        return unauthenticated(request, reply, format?.name ?? 'unknown', sender.reason);
      }
      earlySenders.set(request, sender);
    });

    async function receive(request: FastifyRequest, reply: FastifyReply, formatParam?: string) {
      const format = formatParam === undefined ? undefined : formatNamed(formatParam);
      if (formatParam !== undefined && !format) {
        return reject(reply, 404, 'unknown', 'unknown_format', 'unknown alert format', [
          {
            field: 'format',
            message: `no format named ${JSON.stringify(formatParam.slice(0, 40))}; use native, ocsf, github, guardduty or falco`,
          },
        ]);
      }
      const label = format?.name ?? 'unknown';
      // `?shadow=true` makes any format a dry run. It can only turn shadow mode on: no parameter
      // turns a native alert's `shadow: true` into real containment.
      const shadowParam = (request.query as { shadow?: unknown } | undefined)?.shadow;
      if (shadowParam !== undefined && shadowParam !== 'true' && shadowParam !== 'false') {
        return reject(reply, 400, label, 'invalid_alert', 'invalid shadow parameter', [
          { field: 'shadow', message: 'must be true or false' },
        ]);
      }
      const raw = request.body;
      if (!Buffer.isBuffer(raw)) {
        return reject(reply, 415, label, 'unsupported_media_type', 'unsupported media type', [
          { field: 'content-type', message: 'send the alert as a JSON body with content-type: application/json' },
        ]);
      }

      const sender = earlySenders.get(request) ?? authenticate(sources, request.headers, raw, request.ip);
      if (!sender.ok) return unauthenticated(request, reply, label, sender.reason);
      const source = sender.source;
      const forbidden = (name: FormatName) =>
        reject(reply, 403, name, 'format_not_allowed', 'format not allowed for this source', [
          { field: 'format', message: `source ${source!.name} may send ${source!.formats.join(', ')}, not ${name}` },
        ]);
      if (format && source && !source.formats.includes(format.name)) return forbidden(format.name);

      const wait = limiter.take(source?.name ?? '(anonymous)', source?.rateLimit ?? ANONYMOUS_RATE);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        return reject(reply, 429, label, 'rate_limited', 'rate limit exceeded', [
          {
            field: '(source)',
            message: `${source?.name ?? 'anonymous'} is over its rate limit; retry after ${wait} s`,
          },
        ]);
      }

      const decoded = decodeJsonBody(raw);
      if (!decoded.ok) return reject(reply, 400, label, decoded.reason, 'body is not usable JSON', [decoded.problem]);

      const inventory = inventoryNow(identities, request.log);
      const normalized = normalizeAlert(
        decoded.value,
        {
          source: source?.name,
          provider: source?.provider,
          headers: request.headers,
          rawDigest: sha256(raw),
          inventory,
        },
        format,
      );
      if (normalized.outcome === 'invalid')
        return reject(
          reply,
          400,
          normalized.format,
          'invalid_alert',
          `invalid ${normalized.format} alert`,
          normalized.problems,
        );
      if (normalized.outcome === 'unusable') {
        return reject(
          reply,
          422,
          normalized.format,
          'unusable_alert',
          `${normalized.format} alert names nothing Cordon can contain`,
          normalized.problems,
        );
      }
      if (source && !source.formats.includes(normalized.format)) return forbidden(normalized.format);
      // That shape means "stored by the intake": from a forwarder it would be a false fingerprint.
      if (normalized.outcome === 'alert' && evidenceReferenceIn(normalized.alert.evidence))
        return reject(reply, 400, normalized.format, 'invalid_alert', `invalid ${normalized.format} alert`, [
          {
            field: 'evidence',
            message: 'evidenceRef and evidenceBytes alone are set by the intake, not by a forwarder',
          },
        ]);
      metrics.receivedAlert(normalized.format);
      if (normalized.outcome === 'ignored') {
        metrics.ignoredAlert(normalized.format);
        request.log.info({ format: normalized.format, reason: normalized.reason }, 'alert ignored');
        return reply.code(200).send({ ignored: true, format: normalized.format, reason: normalized.reason });
      }

      const sourceKey = source?.name ?? '(anonymous)';
      const signed = source?.hmacKey !== undefined && request.headers['x-hub-signature-256'] !== undefined;
      const replayed = await deliveries.replayProblem(sourceKey, request.headers, decoded.value, signed);
      if (replayed)
        return reject(reply, 409, normalized.format, 'replayed', 'delivery refused as a replay', [replayed]);
      const shadowed = shadowParam === 'true' ? { ...normalized.alert, shadow: true } : normalized.alert;
      const known = { inventory: inventory !== undefined, providers: identities?.providers };
      const warnings = warningsFor(shadowed, normalized.resolution, known);
      // A forwarder that does not need the disposition answers sooner: the case's worker is not asked.
      const respondAsync = /(^|[\s,])respond-async([\s,;]|$)/i.test(String(request.headers.prefer ?? ''));
      // Redacted before it is stored: the evidence table must hold no more secrets than history.
      let alert = await redactAlert(shadowed);
      try {
        alert = (await evidence?.offload(alert)) ?? alert;
      } catch (err) {
        metrics.rejectedAlert(normalized.format, 'evidence_store_unavailable');
        request.log.error({ err, alertId: alert.id }, 'alert evidence not stored');
        return failedHandoverAnswer(reply, 503, { workflowId: caseWorkflowId(alert), alertId: alert.id }, 'store');
      }
      try {
        const context = await contextFor(alert.identity, request);
        const submission = await submitAlert(client, taskQueue, alert, {
          searchAttributes,
          askDisposition: !respondAsync,
          context,
        });
        if (context && submission.runId)
          await caseContext
            ?.handedOver(submission.runId, context)
            .catch((err: Error) =>
              request.log.warn(
                { err: err.message },
                'case not bound to its policy: it acts under the current one only',
              ),
            );
        const deliveryId = deliveryIdOf(request.headers);
        if (deliveryId)
          await deliveries
            .accept(sourceKey, deliveryId)
            .catch((err: Error) => request.log.warn({ err: err.message }, 'delivery id not recorded'));
        metrics.acceptedAlert(normalized.format, submission.disposition);
        warnings.forEach((w) => metrics.warned(w.code));
        const codes = warnings.map((w) => w.code);
        request.log.info(
          { alertId: alert.id, format: normalized.format, ...submission, warnings: codes },
          'alert accepted',
        );
        if (respondAsync) reply.header('preference-applied', 'respond-async');
        // Still 2xx: the alert is durable in its case; the warnings say what that case cannot do.
        const answer = { ...submission, alertId: alert.id, ...(warnings.length && { warnings }) };
        if (submission.disposition === 'shed') return shedAnswer(reply, answer);
        return reply
          .code(submission.disposition === 'pending' ? 202 : 200)
          .send({ ...answer, format: normalized.format });
      } catch (err) {
        // Not handed over: never a 2xx. The workflow id lets a retry land on the same case.
        const { status, reason } = handoverFailure(err);
        metrics.rejectedAlert(normalized.format, reason);
        request.log.error({ err, alertId: alert.id, status }, 'alert not handed to Temporal');
        return failedHandoverAnswer(reply, status, { workflowId: caseWorkflowId(alert), alertId: alert.id });
      }
    }

    // A context that cannot be read is no reason to refuse an alert: the case then reads its own.
    async function contextFor(identity: IdentityRef, request: FastifyRequest): Promise<ContainmentContext | undefined> {
      try {
        return await caseContext?.read(identity);
      } catch (err) {
        request.log.warn({ err: (err as Error).message }, 'case context unreadable: the case opens with its own read');
        return undefined;
      }
    }

    app.post('/v1/alerts', (request, reply) => receive(request, reply));
    app.post<{ Params: { format: string } }>('/v1/alerts/:format', (request, reply) =>
      receive(request, reply, request.params.format),
    );
    done();
  };
