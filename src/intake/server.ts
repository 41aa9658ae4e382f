import type { Client, Connection } from '@temporalio/client';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { FieldProblem } from '../alerts';
import type { AuditNotary } from '../audit/checkpoints';
import type { Database } from '../db';
import type { Logger } from '../log';
import { auditRoutes } from './auditRoutes';
import type { CaseContextSource } from './acceptAlert';
import { alertRoutes } from './alerts';
import { killSwitchRoutes } from './killSwitchRoutes';
import { decisionRoutes } from './decisionRoutes';
import { bodyTooLarge } from './body';
import { DeliveryLedger } from './deliveries';
import { EvidenceStore } from '../evidence/store';
import { slackRoutes } from './slackRoutes';
import { ApproverDirectory } from '../approvers/authenticate';
import { loadPolicy } from '../policy/load';
import type { Policy } from '../policy/schema';
import { codecRoutes, type CodecRouteDeps } from './codecRoutes';
import { RateLimiter } from './rateLimit';
import { casesNeedingAttention } from './attention';
import { IntakeMetrics, type RejectReason } from './metrics';
import type { IdentityDirectory } from './warnings';
import type { Source } from './sources';

/** What the intake needs: a Temporal client and where workflows run. */
export interface IntakeDeps {
  client: Client;
  taskQueue: string;
  logger: Logger;
  /** False where Cordon's search attributes are not registered. */
  searchAttributes?: boolean;
  /** The audit store, served read-only to loopback clients (the CLI). */
  db?: Database;
  /** The bearer token of the audit read API; without it the API refuses everyone. */
  auditToken?: string;
  /** Signs the kill switch's audit chain head after each move. */
  auditNotary?: AuditNotary;
  /** Who may post alerts; without it only loopback clients may, unauthenticated. */
  sources?: Source[];
  /** Largest accepted request body. */
  maxBodyBytes?: number;
  /** Alert evidence above this many bytes goes to the store (`db`), not into history. */
  evidenceInlineBytes?: number;
  /** The worker's Temporal metrics endpoint, appended to `/metrics`. */
  workerMetricsUrl?: string;
  /** Hands new cases their context (when this process reads the worker's files). */
  caseContext?: CaseContextSource;
  /** Who may decide, and their credentials; without it every decision request gets 401. */
  approvers?: ApproverDirectory;
  /** The worker's policy file: who may move the kill switch, and the decision mode. */
  policyFile?: string;
  /** Slack's signing secret: enables `POST /v1/slack/actions`. */
  slackSigningSecret?: string;
  /** The Slack workspace whose clicks count. */
  slackTeamId?: string;
  /** Serves `/codec/decode|encode` for the Web UI when payloads are encrypted. */
  codec?: CodecRouteDeps;
  /** The worker's inventory and connectors: principals are resolved, and answers warn. */
  identities?: IdentityDirectory;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

// Errors Fastify raises before a handler runs: the field each is about, its metrics reason, and
// a message that quotes nothing from the request.
const FRAMEWORK_ERRORS: Record<string, { field: string; reason: RejectReason; message: (limit: number) => string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    field: '(body)',
    reason: 'body_too_large',
    message: (limit) => bodyTooLarge(limit).message,
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    field: 'content-type',
    reason: 'unsupported_media_type',
    message: () => 'must be application/json',
  },
  CORDON_ERR_CHARSET: {
    field: 'content-type',
    reason: 'unsupported_media_type',
    message: () => 'charset must be utf-8',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    field: 'content-length',
    reason: 'bad_request',
    message: () => 'does not match the body',
  },
};

// The policy file, read per request; an edit that does not parse keeps the last good one, so a
// broken file never stops anyone engaging the kill switch.
function lastGoodPolicy(file: string | undefined, logger: Logger): () => Policy {
  let good: Policy | undefined;
  try {
    good = file ? loadPolicy(file) : undefined;
  } catch {
    // said at the first request that needs it
  }
  return () => {
    if (!file) throw Object.assign(new Error('no policy file in this process'), { statusCode: 404 });
    try {
      good = loadPolicy(file);
    } catch (err) {
      if (!good) throw err;
      logger.error(
        { err: (err as Error).message },
        'policy file does not parse: the kill switch uses the last good one',
      );
    }
    return good;
  };
}

const charsetError = () =>
  Object.assign(new Error('Unsupported Media Type'), { statusCode: 415, code: 'CORDON_ERR_CHARSET' });

/** Builds the intake HTTP server: `/healthz`, `/metrics`, the alert routes, the audit read API and the kill switch. */
export function buildIntake({
  client,
  taskQueue,
  logger,
  searchAttributes = true,
  db,
  auditToken,
  auditNotary,
  sources,
  maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
  evidenceInlineBytes,
  workerMetricsUrl,
  caseContext,
  approvers = new ApproverDirectory({ approvers: [] }),
  policyFile,
  slackSigningSecret,
  slackTeamId,
  codec,
  identities,
}: IntakeDeps) {
  // Cases are counted by their search attributes: none registered, nothing to count.
  const countAttention = searchAttributes
    ? (deadline: AbortSignal) => casesNeedingAttention(client, deadline)
    : undefined;
  const metrics = new IntakeMetrics(workerMetricsUrl, logger, countAttention);
  const refuse = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    error: string,
    problem: FieldProblem,
    reason: RejectReason,
  ) => {
    if (request.url.startsWith('/v1/alerts')) {
      metrics.receivedAlert('unknown');
      metrics.rejectedAlert('unknown', reason);
    }
    return reply.code(status).send({ error, problems: [problem] });
  };
  const app = Fastify({
    loggerInstance: logger.child({ component: 'intake' }),
    bodyLimit: maxBodyBytes,
    // A malformed URL never reaches the router; it is answered like every other bad request.
    frameworkErrors: (_err, request, reply) =>
      refuse(request, reply, 400, 'Bad Request', { field: 'path', message: 'is not a valid URL path' }, 'bad_request'),
  });

  // Bodies stay raw bytes until the sender is authenticated: signatures cover the exact bytes,
  // and nothing parses what an unauthenticated client sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = /;\s*charset="?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
    return charset && !/^utf-?8$/i.test(charset) ? done(charsetError(), undefined) : done(null, body);
  });

  // Every error leaves as JSON naming what was wrong; internals are logged, not returned.
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.code(status).send({ error: 'internal error' });
    }
    const known = FRAMEWORK_ERRORS[err.code ?? ''];
    const problem = known
      ? { field: known.field, message: known.message(maxBodyBytes) }
      : { field: '(request)', message: err.message };
    return refuse(request, reply, status, err.message, problem, known?.reason ?? 'bad_request');
  });
  app.setNotFoundHandler((request, reply) =>
    refuse(
      request,
      reply,
      404,
      'not found',
      { field: 'path', message: `no route ${request.method} ${request.url.slice(0, 200)}` },
      'unknown_format',
    ),
  );

  app.get('/healthz', async (_request, reply) => {
    try {
      await client.withDeadline(Date.now() + 2_000, () => (client.connection as Connection).healthService.check({}));
      return { status: 'ok', temporal: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'degraded', temporal: 'unreachable' });
    }
  });

  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.text()));

  const deliveries = new DeliveryLedger(db);
  const evidence = db && new EvidenceStore(db, evidenceInlineBytes);
  app.register(
    alertRoutes({
      client,
      taskQueue,
      searchAttributes,
      sources,
      metrics,
      caseContext,
      deliveries,
      evidence,
      identities,
    }),
  );
  const limiter = new RateLimiter();
  app.register(decisionRoutes({ client, db, approvers, logger, limiter }));
  app.register(
    killSwitchRoutes({
      db,
      client,
      logger,
      approvers,
      policy: lastGoodPolicy(policyFile, logger),
      limiter,
      auditNotary,
    }),
  );
  if (codec) app.register(codecRoutes(codec));
  if (slackSigningSecret)
    app.register(
      slackRoutes({ client, db, approvers, signingSecret: slackSigningSecret, teamId: slackTeamId, logger }),
    );

  app.register(auditRoutes({ db, token: auditToken }));

  return app;
}
