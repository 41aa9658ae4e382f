import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fieldProblems } from '../alerts';
import type { Database } from '../db';
import { readKillSwitch, setKillSwitch } from '../killSwitch';
import type { Logger } from '../log';
import { isLoopback } from './authenticate';

/** Body of `POST /v1/kill-switch`. */
export const KillSwitchRequest = z
  .object({
    action: z.enum(['engage', 'release']),
    by: z.string().trim().min(1).max(200),
    reason: z.string().max(2000).optional(),
  })
  .strict();

/**
 * The kill switch over HTTP, for the CLI while the service owns the embedded store. Loopback
 * only, like the audit API: moving the switch stops or restarts every case.
 */
export function killSwitchRoutes({ db, client, logger }: { db?: Database; client: Client; logger: Logger }) {
  const refused = (request: FastifyRequest, reply: FastifyReply) => {
    if (!db)
      return reply.code(404).send({
        error: 'no store in this process',
        problems: [{ field: 'path', message: 'the kill switch lives in the store' }],
      });
    if (!isLoopback(request.ip))
      return reply.code(403).send({
        error: 'the kill-switch API answers loopback clients only',
        problems: [{ field: '(client)', message: 'not loopback' }],
      });
    return undefined;
  };
  return async (app: FastifyInstance) => {
    app.get('/v1/kill-switch', async (request, reply) => refused(request, reply) ?? readKillSwitch(db!.query));
    app.post('/v1/kill-switch', async (request, reply) => {
      const refusal = refused(request, reply);
      if (refusal) return refusal;
      let body: unknown;
      try {
        body = JSON.parse((request.body as Buffer | undefined)?.toString('utf8') ?? '');
      } catch {
        return reply
          .code(400)
          .send({ error: 'invalid kill-switch request', problems: [{ field: '(body)', message: 'must be JSON' }] });
      }
      const parsed = KillSwitchRequest.safeParse(body);
      if (!parsed.success)
        return reply.code(400).send({ error: 'invalid kill-switch request', problems: fieldProblems(parsed.error) });
      const { action, by, reason } = parsed.data;
      return setKillSwitch(db!, client, { engaged: action === 'engage', by, reason }, logger);
    });
  };
}
