import type { Client, Connection } from '@temporalio/client';
import Fastify from 'fastify';
import { z } from 'zod';
import { fieldProblems, parseAlert } from '../alerts';
import { readEntries } from '../audit/store';
import type { Database } from '../db';
import { submitAlert } from '../client/submitAlert';
import type { Logger } from '../log';

/** What the intake needs: a Temporal client and where workflows run. */
export interface IntakeDeps {
  client: Client;
  taskQueue: string;
  logger: Logger;
  /** False where Cordon's search attributes are not registered. */
  searchAttributes?: boolean;
  /** The audit store, served read-only to loopback clients (the CLI). */
  db?: Database;
}

const AuditQuery = z
  .object({ workflowId: z.string().min(1), identity: z.string().min(1), since: z.iso.datetime({ offset: true }) })
  .partial()
  .strict();
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

const MAX_BODY_BYTES = 1024 * 1024;

/** Builds the intake HTTP server: `/healthz` and `POST /v1/alerts`. */
export function buildIntake({ client, taskQueue, logger, searchAttributes = true, db }: IntakeDeps) {
  const app = Fastify({ loggerInstance: logger.child({ component: 'intake' }), bodyLimit: MAX_BODY_BYTES });

  // Every error leaves as JSON naming what was wrong; internals are logged, not returned.
  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.code(status).send({ error: 'internal error' });
    }
    return reply.code(status).send({ error: err.message, problems: [{ field: '(body)', message: err.message }] });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url}` }),
  );

  app.get('/healthz', async (_request, reply) => {
    try {
      await client.withDeadline(Date.now() + 2_000, () => (client.connection as Connection).healthService.check({}));
      return { status: 'ok', temporal: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'degraded', temporal: 'unreachable' });
    }
  });

  app.post('/v1/alerts', async (request, reply) => {
    const parsed = parseAlert(request.body);
    if (!parsed.ok) {
      return reply.code(400).send({ error: 'invalid alert', problems: parsed.problems });
    }
    const submission = await submitAlert(client, taskQueue, parsed.alert, { searchAttributes });
    request.log.info(
      { alertId: parsed.alert.id, workflowId: submission.workflowId, disposition: submission.disposition },
      'alert accepted',
    );
    return reply.code(submission.disposition === 'pending' ? 202 : 200).send(submission);
  });

  // The embedded store has one owner (this process); the CLI reads it here. Loopback only:
  // the audit trail names identities and approvers.
  app.get('/v1/audit/entries', async (request, reply) => {
    if (!db) return reply.code(404).send({ error: 'no audit store in this process' });
    if (!LOOPBACK.has(request.ip)) return reply.code(403).send({ error: 'the audit API answers loopback clients only' });
    const parsed = AuditQuery.safeParse(request.query);
    if (!parsed.success) return reply.code(400).send({ error: 'invalid audit query', problems: fieldProblems(parsed.error) });
    return readEntries(db, parsed.data);
  });

  return app;
}
