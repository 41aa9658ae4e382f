import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { formatNamed, normalizeAlert, type FormatName } from '../alerts/formats';
import type { FieldProblem } from '../alerts/schema';
import { submitAlert } from '../client/submitAlert';
import { containmentWorkflowId } from '../../workflows/definitions';
import { authenticate } from './authenticate';
import { decodeJsonBody } from './body';
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
}

// The unconfigured intake serves one operator on loopback; it still has a ceiling.
const ANONYMOUS_RATE: Rate = { perSecond: 1_000, burst: 2_000 };
/** How long a forwarder should wait before retrying when Temporal did not take the alert. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

const sha256 = (raw: Buffer) => `sha256:${createHash('sha256').update(raw).digest('hex')}`;

/** `POST /v1/alerts` (format detected) and `POST /v1/alerts/{format}`. */
export const alertRoutes = ({ client, taskQueue, searchAttributes, sources, metrics }: AlertRouteDeps): FastifyPluginCallback => (app, _options, done) => {
  const limiter = new RateLimiter();

  // Labels are only ever known format names or `unknown`: never request text (cardinality).
  const reject = (reply: FastifyReply, status: number, format: FormatName | 'unknown', reason: RejectReason, error: string, problems: FieldProblem[]) => {
    metrics.receivedAlert(format);
    metrics.rejectedAlert(format, reason);
    return reply.code(status).send({ error, problems });
  };

  async function receive(request: FastifyRequest, reply: FastifyReply, formatParam?: string) {
    const format = formatParam === undefined ? undefined : formatNamed(formatParam);
    if (formatParam !== undefined && !format) {
      return reject(reply, 404, 'unknown', 'unknown_format', 'unknown alert format', [
        { field: 'format', message: `no format named ${JSON.stringify(formatParam.slice(0, 40))}; use native, ocsf, github, guardduty or falco` },
      ]);
    }
    const label = format?.name ?? 'unknown';
    const raw = request.body;
    if (!Buffer.isBuffer(raw)) {
      return reject(reply, 415, label, 'unsupported_media_type', 'unsupported media type', [
        { field: 'content-type', message: 'send the alert as a JSON body with content-type: application/json' },
      ]);
    }

    const sender = authenticate(sources, request.headers, raw, request.ip);
    if (!sender.ok) {
      request.log.warn({ ip: request.ip, path: request.url, bytes: raw.length, reason: sender.reason }, 'unauthenticated alert request');
      reply.header('www-authenticate', 'Bearer realm="cordon"');
      return reject(reply, 401, label, 'unauthenticated', 'authentication required', [{ field: 'authorization', message: sender.reason }]);
    }
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
        { field: '(source)', message: `${source?.name ?? 'anonymous'} is over its rate limit; retry after ${wait} s` },
      ]);
    }

    const decoded = decodeJsonBody(raw);
    if (!decoded.ok) return reject(reply, 400, label, decoded.reason, 'body is not usable JSON', [decoded.problem]);

    const normalized = normalizeAlert(decoded.value, { source: source?.name, provider: source?.provider, headers: request.headers, rawDigest: sha256(raw) }, format);
    if (normalized.outcome === 'invalid') return reject(reply, 400, normalized.format, 'invalid_alert', `invalid ${normalized.format} alert`, normalized.problems);
    if (normalized.outcome === 'unusable') {
      return reject(reply, 422, normalized.format, 'unusable_alert', `${normalized.format} alert names nothing Cordon can contain`, normalized.problems);
    }
    if (source && !source.formats.includes(normalized.format)) return forbidden(normalized.format);
    metrics.receivedAlert(normalized.format);
    if (normalized.outcome === 'ignored') {
      metrics.ignoredAlert(normalized.format);
      request.log.info({ format: normalized.format, reason: normalized.reason }, 'alert ignored');
      return reply.code(200).send({ ignored: true, format: normalized.format, reason: normalized.reason });
    }

    const { alert } = normalized;
    try {
      const submission = await submitAlert(client, taskQueue, alert, { searchAttributes });
      metrics.acceptedAlert(normalized.format, submission.disposition);
      request.log.info({ alertId: alert.id, format: normalized.format, ...submission }, 'alert accepted');
      return reply.code(submission.disposition === 'pending' ? 202 : 200).send({ ...submission, alertId: alert.id, format: normalized.format });
    } catch (err) {
      // Not handed over: never a 2xx. The workflow id lets the retry land on the same case.
      metrics.rejectedAlert(normalized.format, 'temporal_unavailable');
      request.log.error({ err, alertId: alert.id }, 'alert not handed to Temporal');
      reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_S));
      return reply.code(503).send({
        error: 'Temporal is unreachable; the alert was not accepted, retry it',
        workflowId: containmentWorkflowId(alert.identity),
        alertId: alert.id,
        problems: [{ field: '(service)', message: 'temporal unavailable' }],
      });
    }
  }

  app.post('/v1/alerts', (request, reply) => receive(request, reply));
  app.post<{ Params: { format: string } }>('/v1/alerts/:format', (request, reply) => receive(request, reply, request.params.format));
  done();
};
