import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuditNotary } from '../audit/checkpoints';
import type { ApproverDirectory } from '../approvers/authenticate';
import type { Database } from '../db';
import { controlRefusal } from '../domain/decisions';
import { readKillSwitch, setKillSwitch } from '../killSwitch';
import type { Logger } from '../log';
import type { Policy } from '../policy/schema';
import { isLoopback } from './authenticate';
import { parsedBody, provenCaller } from './decisionRoutes';
import type { RateLimiter } from './rateLimit';

/** Body of `POST /v1/kill-switch`; `by` is a claim, used only in claimed mode without credentials. */
export const KillSwitchRequest = z
  .object({
    action: z.enum(['engage', 'release']),
    by: z.string().trim().min(1).max(200).optional(),
    reason: z.string().max(2000).optional(),
  })
  .strict();

export interface KillSwitchRouteDeps {
  db?: Database;
  client: Client;
  logger: Logger;
  approvers: ApproverDirectory;
  /** The worker's policy: who may engage and release, and whether a name must be proven. */
  policy: () => Policy;
  limiter: RateLimiter;
  /** Signs the switch's audit chain head after each move. */
  auditNotary?: AuditNotary;
}

const problem = (reply: FastifyReply, status: number, error: string, field: string, message: string) =>
  reply.code(status).send({ error, problems: [{ field, message }] });

/**
 * The kill switch over HTTP. Loopback only, like the audit API: moving the switch stops or
 * restarts every case. Who moves it must be in the policy's groups for that move; with
 * credentials the mover is the proven person, and in verified mode credentials are required.
 */
export function killSwitchRoutes({ db, client, logger, approvers, policy, limiter, auditNotary }: KillSwitchRouteDeps) {
  const refused = (request: FastifyRequest, reply: FastifyReply) => {
    if (!db) return problem(reply, 404, 'no store in this process', 'path', 'the kill switch lives in the store');
    if (!isLoopback(request.ip))
      return problem(reply, 403, 'the kill-switch API answers loopback clients only', '(client)', 'not loopback');
    return undefined;
  };
  return async (app: FastifyInstance) => {
    app.get('/v1/kill-switch', async (request, reply) => refused(request, reply) ?? readKillSwitch(db!.query));
    app.post('/v1/kill-switch', async (request, reply) => {
      const refusal = refused(request, reply);
      if (refusal) return refusal;
      const current = policy();
      let mover: { by: string; method: string };
      if (request.headers.authorization !== undefined || current.decisions.mode === 'verified') {
        const caller = await provenCaller(approvers, limiter, request, reply);
        if (!('ok' in caller)) return caller;
        mover = { by: caller.approver.name, method: caller.approver.method };
      }
      const body = parsedBody(KillSwitchRequest, request, reply, 400, 'invalid kill-switch request');
      if (!body) return reply;
      mover ??= { by: body.by ?? '', method: 'claim' };
      if (!mover.by)
        return problem(reply, 422, 'invalid kill-switch request', 'by', 'who moves the switch (or send credentials)');
      const denied = controlRefusal(current, body.action, mover.by);
      if (denied) return problem(reply, 403, 'kill-switch move refused', 'by', denied.reason);
      const move = { engaged: body.action === 'engage', reason: body.reason, ...mover };
      return setKillSwitch(db!, client, move, logger, auditNotary);
    });
  };
}
