// The authenticated decision API: a person proves who they are, the decision is recorded in the
// store (the truth the case and the worker's guard check), then handed to the case as an Update
// naming the record. The answer says what the decision did, or why it was refused.
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fieldProblems } from '../alerts';
import type { Authentication, ApproverDirectory, ProvenApprover } from '../approvers/authenticate';
import type { Database } from '../db';
import { recordDecision } from '../decisions/store';
import type { RefusalCode } from '../domain/decisions';
import type { Logger } from '../log';
import { controlUpdate, decideUpdate, statusQuery } from '../../workflows/definitions';
import { RateLimiter } from './rateLimit';
import { redactText } from '../secrets/redact';

// Stored, audited and shown to other approvers: a pasted credential is kept as its fingerprint.
const Reason = z
  .string()
  .trim()
  .min(1)
  .max(2000)
  .transform((reason) => redactText(reason));

/** Body of `POST /v1/cases/{workflowId}/decisions`. */
export const DecisionRequest = z
  .object({
    requestId: z.string().min(1).max(200),
    decision: z.enum(['approve', 'deny']),
    reason: Reason.optional(),
    /** The action approved, as the request shows it; absent, the open request's is used and returned. */
    actionDigest: z.string().min(1).max(200).optional(),
  })
  .strict();

/** Body of `POST /v1/cases/{workflowId}/controls`. */
export const ControlRequest = z
  .object({ control: z.enum(['false-positive', 'pause', 'resume']), reason: Reason.optional() })
  .strict();

// A refusal's status, and the field it is about.
const REFUSALS: Record<RefusalCode, { status: number; field: string }> = {
  invalid: { status: 422, field: '(body)' },
  // From the API only when the store no longer holds the decision it just recorded for this request.
  unverified: { status: 409, field: 'requestId' },
  forbidden: { status: 403, field: 'authorization' },
  'self-approval': { status: 403, field: 'authorization' },
  stale: { status: 409, field: 'requestId' },
  decided: { status: 409, field: 'requestId' },
  repeat: { status: 409, field: 'authorization' },
};

const CASE_ID = /^(shadow:)?contain:[^:]+:.+$/;
// Refused credentials allowed per client address: a burst of 20, then one every 2 s.
const FAILED_ATTEMPTS = { perSecond: 0.5, burst: 20 };

export interface DecisionRouteDeps {
  client: Client;
  db?: Database;
  approvers: ApproverDirectory;
  logger: Logger;
  /** One limiter for every authenticated route: a person's budget is theirs across routes. */
  limiter: RateLimiter;
}

const problem = (reply: FastifyReply, status: number, error: string, field: string, message: string) =>
  reply.code(status).send({ error, problems: [{ field, message }] });

/** Who is asking, or the reply that refused them (401, 429). */
export async function provenCaller(
  approvers: ApproverDirectory,
  limiter: RateLimiter,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Extract<Authentication, { ok: true }> | FastifyReply> {
  const header = request.headers.authorization;
  const auth = await approvers.authenticate(typeof header === 'string' ? header : undefined);
  if (!auth.ok) {
    request.log.warn({ ip: request.ip, path: request.url, reason: auth.reason }, 'decision refused: unauthenticated');
    // Failed attempts are limited per address: guessing tokens costs time.
    const wait = limiter.take(`ip:${request.ip}`, FAILED_ATTEMPTS);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      return problem(
        reply,
        429,
        'too many failed attempts',
        'authorization',
        'too many refused credentials from this address',
      );
    }
    reply.header('www-authenticate', 'Bearer');
    return problem(reply, 401, 'unauthenticated', 'authorization', auth.reason);
  }
  const wait = limiter.take(auth.approver.name, { perSecond: auth.limit / 60, burst: Math.min(auth.limit, 10) });
  if (wait > 0) {
    reply.header('retry-after', String(wait));
    return problem(
      reply,
      429,
      'too many decisions',
      'authorization',
      `${auth.approver.name} is over ${auth.limit} decisions a minute`,
    );
  }
  return auth;
}

/** Parses a JSON body against `schema`; on failure the reply (`status`, 422 by default) is sent. */
export function parsedBody<S extends z.ZodType>(
  schema: S,
  request: FastifyRequest,
  reply: FastifyReply,
  status = 422,
  error = 'invalid decision',
): z.infer<S> | undefined {
  let body: unknown;
  try {
    body = JSON.parse((request.body as Buffer | undefined)?.toString('utf8') ?? '');
  } catch {
    void problem(reply, status, error, '(body)', 'must be JSON');
    return undefined;
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    void reply.code(status).send({ error, problems: fieldProblems(parsed.error) });
    return undefined;
  }
  return parsed.data;
}

// What a refused or failed Update becomes over HTTP.
function updateFailure(reply: FastifyReply, err: unknown, workflowId: string) {
  if (err instanceof WorkflowNotFoundError)
    return problem(reply, 404, 'no such case', 'workflowId', `${workflowId} is not running`);
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause as { details?: unknown[]; message?: string } | undefined;
    const code = cause?.details?.[0] as RefusalCode | undefined;
    const known = code && REFUSALS[code];
    if (known)
      return reply
        .code(known.status)
        .send({ error: 'decision refused', code, problems: [{ field: known.field, message: cause?.message }] });
  }
  throw err;
}

/** What a case route's handler gets once the caller is proven and the body is valid. */
interface CaseCall<T> {
  caller: ProvenApprover;
  body: T;
  workflowId: string;
  db: Database;
}

/** `POST /v1/cases/{workflowId}/decisions` and `/controls`. */
export function decisionRoutes({ client, db, approvers, logger, limiter }: DecisionRouteDeps) {
  // Authenticates, rate-limits and parses, then runs `handle`; a refused Update becomes its status.
  const caseRoute =
    <S extends z.ZodType>(schema: S, handle: (call: CaseCall<z.infer<S>>) => Promise<object>) =>
    async (request: FastifyRequest<{ Params: { workflowId: string } }>, reply: FastifyReply) => {
      const caller = await provenCaller(approvers, limiter, request, reply);
      if (!('ok' in caller)) return caller;
      const body = parsedBody(schema, request, reply);
      if (!body) return reply;
      const { workflowId } = request.params;
      if (!db) return problem(reply, 404, 'no such case', 'workflowId', 'no decision store in this process');
      if (!CASE_ID.test(workflowId))
        return problem(reply, 404, 'no such case', 'workflowId', 'not a containment workflow id');
      try {
        return await handle({ caller: caller.approver, body, workflowId, db });
      } catch (err) {
        return updateFailure(reply, err, workflowId);
      }
    };

  const decide = caseRoute(DecisionRequest, async ({ caller, body, workflowId, db }) => {
    const handle = client.workflow.getHandle(workflowId);
    const actionDigest = body.actionDigest ?? (await pendingDigest(handle, body.requestId));
    const decisionId = await recordDecision(db, {
      workflowId,
      kind: body.decision,
      requestId: body.requestId,
      actionDigest,
      actor: caller.name,
      method: caller.method,
      reason: body.reason,
    });
    const result = await handle.executeUpdate(decideUpdate, {
      args: [{ ...body, actionDigest, approver: caller.name, decisionId }],
    });
    logger.info({ workflowId, requestId: body.requestId, approver: caller.name, decision: body.decision }, 'decision');
    const outcome = result.state === 'waiting' ? 'counted' : result.state;
    return { outcome, ...result, requestId: body.requestId, actionDigest, approver: caller.name, decisionId };
  });

  const control = caseRoute(ControlRequest, async ({ caller, body, workflowId, db }) => {
    const decisionId = await recordDecision(db, {
      workflowId,
      kind: body.control,
      actor: caller.name,
      method: caller.method,
      reason: body.reason,
    });
    const result = await client.workflow
      .getHandle(workflowId)
      .executeUpdate(controlUpdate, { args: [{ ...body, by: caller.name, decisionId }] });
    logger.info({ workflowId, control: body.control, by: caller.name }, 'control decision');
    return { ...result, by: caller.name, decisionId };
  });

  return async (app: FastifyInstance) => {
    app.post('/v1/cases/:workflowId/decisions', decide);
    app.post('/v1/cases/:workflowId/controls', control);
  };
}

// The digest of the open request `requestId`, when it is open: the decision is bound to it.
async function pendingDigest(handle: ReturnType<Client['workflow']['getHandle']>, requestId: string) {
  const status = await handle.query(statusQuery);
  return status.pendingRequest?.requestId === requestId ? status.pendingRequest.actionDigest : undefined;
}
