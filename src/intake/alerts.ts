import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { formatNamed, type FormatName } from '../alerts/formats';
import { acceptAlert, refused, type AlertPipelineDeps } from './acceptAlert';
import { formatNotAllowed, refusal, type Refusal } from './readAlert';
import type { IntakeAnswer } from './answers';
import { authenticate, type Sender } from './authenticate';
import type { IntakeMetrics } from './metrics';
import { RateLimiter, type Rate } from './rateLimit';
import type { Source } from './sources';

/** What the alert routes need: the pipeline's parts, and who may post. */
export interface AlertRouteDeps extends Omit<AlertPipelineDeps, 'log' | 'metrics'> {
  /** Undefined: no sources file, so only loopback clients may post, unauthenticated. */
  sources?: Source[];
  metrics: IntakeMetrics;
}

// The unconfigured intake serves one operator on loopback; it still has a ceiling.
const ANONYMOUS_RATE: Rate = { perSecond: 1_000, burst: 2_000 };
const NO_BODY = Buffer.alloc(0);

const send = (reply: FastifyReply, answer: IntakeAnswer) =>
  reply
    .code(answer.status)
    .headers(answer.headers ?? {})
    .send(answer.body);

/**
 * `POST /v1/alerts` (format detected) and `POST /v1/alerts/{format}`: authentication, the
 * format in the path and the source's rate here; the rest is the alert pipeline (`acceptAlert`).
 */
export const alertRoutes =
  ({ sources, ...pipeline }: AlertRouteDeps): FastifyPluginCallback =>
  (app, _options, done) => {
    const limiter = new RateLimiter();
    const { metrics } = pipeline;

    // Labels are only ever known format names or `unknown`: never request text (cardinality).
    const reject = (reply: FastifyReply, r: Refusal) => send(reply, refused(metrics, r));

    const unauthenticated = (
      request: FastifyRequest,
      reply: FastifyReply,
      label: FormatName | 'unknown',
      reason: string,
    ) => {
      request.log.warn({ ip: request.ip, path: request.url.slice(0, 200), reason }, 'unauthenticated alert request');
      reply.header('www-authenticate', 'Bearer realm="cordon"');
      return reject(
        reply,
        refusal(401, label, 'unauthenticated', 'authentication required', [
          { field: 'authorization', message: reason },
        ]),
      );
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

    // What the request itself gets wrong, before its sender is known: the format, `?shadow`, the media type.
    function requestProblem(request: FastifyRequest, formatParam?: string): Refusal | undefined {
      const format = formatParam === undefined ? undefined : formatNamed(formatParam);
      if (formatParam !== undefined && !format)
        return refusal(404, 'unknown', 'unknown_format', 'unknown alert format', [
          {
            field: 'format',
            message: `no format named ${JSON.stringify(formatParam.slice(0, 40))}; use native, ocsf, github, guardduty or falco`,
          },
        ]);
      const label = format?.name ?? 'unknown';
      // `?shadow=true` makes any format a dry run. It can only turn shadow mode on: no parameter
      // turns a native alert's `shadow: true` into real containment.
      const shadow = (request.query as { shadow?: unknown } | undefined)?.shadow;
      if (shadow !== undefined && shadow !== 'true' && shadow !== 'false')
        return refusal(400, label, 'invalid_alert', 'invalid shadow parameter', [
          { field: 'shadow', message: 'must be true or false' },
        ]);
      if (!Buffer.isBuffer(request.body))
        return refusal(415, label, 'unsupported_media_type', 'unsupported media type', [
          { field: 'content-type', message: 'send the alert as a JSON body with content-type: application/json' },
        ]);
      return undefined;
    }

    async function receive(request: FastifyRequest, reply: FastifyReply, formatParam?: string) {
      const problem = requestProblem(request, formatParam);
      if (problem) return reject(reply, problem);
      const format = formatParam === undefined ? undefined : formatNamed(formatParam);
      const label = format?.name ?? 'unknown';
      const raw = request.body as Buffer;
      const sender = earlySenders.get(request) ?? authenticate(sources, request.headers, raw, request.ip);
      if (!sender.ok) return unauthenticated(request, reply, label, sender.reason);
      const { source } = sender;
      if (format && source && !source.formats.includes(format.name))
        return reject(reply, formatNotAllowed(source, format.name));

      const wait = limiter.take(source?.name ?? '(anonymous)', source?.rateLimit ?? ANONYMOUS_RATE);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        const message = `${source?.name ?? 'anonymous'} is over its rate limit; retry after ${wait} s`;
        return reject(
          reply,
          refusal(429, label, 'rate_limited', 'rate limit exceeded', [{ field: '(source)', message }]),
        );
      }

      // A forwarder that does not need the disposition answers sooner: the case's worker is not asked.
      const respondAsync = /(^|[\s,])respond-async([\s,;]|$)/i.test(String(request.headers.prefer ?? ''));
      const shadow = (request.query as { shadow?: unknown } | undefined)?.shadow === 'true';
      const delivery = { raw, format, source, headers: request.headers, shadow, respondAsync };
      return send(reply, await acceptAlert(delivery, { ...pipeline, log: request.log }));
    }

    app.post('/v1/alerts', (request, reply) => receive(request, reply));
    app.post<{ Params: { format: string } }>('/v1/alerts/:format', (request, reply) =>
      receive(request, reply, request.params.format),
    );
    done();
  };
