// Slack's interactive callbacks: an approver clicks Approve or Deny on an approval request's
// message. The request is Slack's only if it carries a valid v0 signature over its timestamp and
// exact body, made within five minutes, and not seen before; the clicking Slack user must be
// mapped to an approver. The decision then goes the way of every authenticated decision.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApproverDirectory } from '../approvers/authenticate';
import type { Database } from '../db';
import { recordDecision, useCallbackOnce } from '../decisions/store';
import { errorText } from '../domain/errors';
import type { Logger } from '../log';
import { decideUpdate } from '../../workflows/definitions';

const MAX_AGE_S = 5 * 60;

/** What an Approve or Deny button carries (its `value`, as JSON). */
export interface SlackButtonValue {
  workflowId: string;
  requestId: string;
  actionDigest: string;
}

export interface SlackRouteDeps {
  client: Client;
  db?: Database;
  approvers: ApproverDirectory;
  signingSecret: string;
  /** The Slack workspace (`T…`) whose clicks count; absent, any workspace the app is installed in. */
  teamId?: string;
  logger: Logger;
}

/** Why a Slack request's signature does not hold, or undefined. */
export function slackSignatureRefusal(
  secret: string,
  timestamp: unknown,
  signature: unknown,
  body: Buffer,
  nowS = Date.now() / 1000,
) {
  if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) return 'X-Slack-Request-Timestamp is missing';
  if (Math.abs(nowS - Number(timestamp)) > MAX_AGE_S) return 'the request is older than 5 minutes';
  if (typeof signature !== 'string' || !/^v0=[0-9a-f]{64}$/.test(signature))
    return 'X-Slack-Signature is not v0=<64 hex digits>';
  const expected = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(signature.slice(3), 'hex')) ? undefined : 'signature does not match';
}

// The clicked button of a block_actions payload, or why there is none.
function clicked(
  body: Buffer,
): { user: string; team?: string; decision: 'approve' | 'deny'; value: SlackButtonValue } | string {
  const payload = new URLSearchParams(body.toString('utf8')).get('payload');
  if (!payload) return 'no payload field';
  let parsed: {
    type?: unknown;
    user?: { id?: unknown };
    team?: { id?: unknown };
    actions?: { action_id?: unknown; value?: unknown }[];
  };
  try {
    parsed = JSON.parse(payload);
  } catch {
    return 'payload is not JSON';
  }
  const action = parsed.actions?.[0];
  const decision =
    action?.action_id === 'cordon_approve' ? 'approve' : action?.action_id === 'cordon_deny' ? 'deny' : undefined;
  if (parsed.type !== 'block_actions' || !decision) return 'not a Cordon button click';
  if (typeof parsed.user?.id !== 'string') return 'no user';
  try {
    const value = JSON.parse(String(action?.value)) as SlackButtonValue;
    if ([value.workflowId, value.requestId, value.actionDigest].every((v) => typeof v === 'string'))
      return {
        user: parsed.user.id,
        team: typeof parsed.team?.id === 'string' ? parsed.team.id : undefined,
        decision,
        value,
      };
  } catch {
    // falls through
  }
  return 'the button value is not a Cordon request';
}

// Slack shows the reply to the person who clicked.
const say = (reply: FastifyReply, status: number, text: string) =>
  reply.code(status).send({ response_type: 'ephemeral', replace_original: false, text });

/** `POST /v1/slack/actions`. */
export function slackRoutes({ client, db, approvers, signingSecret, teamId, logger }: SlackRouteDeps) {
  return async (app: FastifyInstance) => {
    // Slack posts forms; the raw bytes are kept for the signature. Scoped to this plugin's routes.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_req, body, done) =>
      done(null, body),
    );
    app.post('/v1/slack/actions', async (request, reply) => {
      const body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
      const h = request.headers;
      const refusal = slackSignatureRefusal(
        signingSecret,
        h['x-slack-request-timestamp'],
        h['x-slack-signature'],
        body,
      );
      if (refusal) {
        request.log.warn({ ip: request.ip, reason: refusal }, 'slack callback refused');
        return reply
          .code(401)
          .send({ error: 'unauthenticated', problems: [{ field: 'x-slack-signature', message: refusal }] });
      }
      if (!db) return say(reply, 404, 'This Cordon has no decision store.');
      if (!(await useCallbackOnce(db, `slack:${h['x-slack-signature']}`)))
        return reply.code(409).send({
          error: 'replayed',
          problems: [{ field: 'x-slack-signature', message: 'this callback was already used' }],
        });
      const click = clicked(body);
      if (typeof click === 'string') return say(reply, 422, `Cordon could not read this click: ${click}.`);
      if (teamId && click.team !== teamId)
        return say(reply, 403, 'This Slack workspace does not decide for this Cordon.');
      const approver = approvers.bySlackUser(click.user);
      if (!approver) return say(reply, 403, `Your Slack user ${click.user} is not mapped to a Cordon approver.`);
      const { workflowId, requestId, actionDigest } = click.value;
      const decisionId = await recordDecision(db, {
        workflowId,
        kind: click.decision,
        requestId,
        actionDigest,
        actor: approver.name,
        method: 'slack',
      });
      try {
        const result = await client.workflow.getHandle(workflowId).executeUpdate(decideUpdate, {
          args: [
            {
              decision: click.decision,
              requestId,
              actionDigest,
              approver: approver.name,
              decisionId,
              reason: 'via Slack',
            },
          ],
        });
        logger.info({ workflowId, requestId, approver: approver.name, decision: click.decision }, 'slack decision');
        const state = result.accepted ? result.state : 'refused';
        return say(
          reply,
          200,
          `${approver.name}: ${click.decision} ${requestId} — ${state} (${result.accepted ? `${result.approvals}/${result.required}` : ''}).`,
        );
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) return say(reply, 200, `Refused: ${errorText(err.cause ?? err)}`);
        if (err instanceof WorkflowNotFoundError) return say(reply, 404, `${workflowId} is not running.`);
        throw err;
      }
    });
  };
}
