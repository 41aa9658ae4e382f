// The audit read API: the embedded store has one owner (the service), so the CLI reads it here.
// Loopback only and behind a bearer token: the trail names identities and approvers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fieldProblems } from '../alerts';
import { readSignedHeads } from '../audit/heads';
import { readEntries } from '../audit/store';
import { bearerMatches } from '../audit/token';
import type { Database } from '../db';
import { isLoopback } from './authenticate';

const AuditQuery = z
  .object({ workflowId: z.string().min(1), identity: z.string().min(1), since: z.iso.datetime({ offset: true }) })
  .partial()
  .strict();
const HeadsQuery = AuditQuery.pick({ workflowId: true });

/** What the audit API needs: the store, and the token callers must present. */
export interface AuditRouteDeps {
  db?: Database;
  /** Without one every request is refused: the trail is never served unauthenticated. */
  token?: string;
}

const problem = (reply: FastifyReply, status: number, error: string, field: string, message: string) =>
  reply.code(status).send({ error, problems: [{ field, message }] });

/** `GET /v1/audit/entries` and `GET /v1/audit/heads` (the signed chain heads, for `audit verify`). */
export function auditRoutes({ db, token }: AuditRouteDeps) {
  const refused = (request: FastifyRequest, reply: FastifyReply) => {
    if (!db) return problem(reply, 404, 'no audit store in this process', 'path', 'the audit lives in the store');
    if (!isLoopback(request.ip))
      return problem(reply, 403, 'the audit API answers loopback clients only', '(client)', 'not loopback');
    if (!token || !bearerMatches(token, request.headers.authorization))
      return problem(reply, 401, 'the audit API needs its token', 'authorization', 'send Bearer <CORDON_AUDIT_TOKEN>');
    return undefined;
  };
  return async (app: FastifyInstance) => {
    app.get('/v1/audit/entries', async (request, reply) => {
      const refusal = refused(request, reply);
      if (refusal) return refusal;
      const parsed = AuditQuery.safeParse(request.query);
      if (!parsed.success)
        return reply.code(400).send({ error: 'invalid audit query', problems: fieldProblems(parsed.error) });
      return readEntries(db!, parsed.data);
    });
    app.get('/v1/audit/heads', async (request, reply) => {
      const refusal = refused(request, reply);
      if (refusal) return refusal;
      const parsed = HeadsQuery.safeParse(request.query);
      if (!parsed.success)
        return reply.code(400).send({ error: 'invalid audit query', problems: fieldProblems(parsed.error) });
      return readSignedHeads(db!, parsed.data.workflowId);
    });
  };
}
