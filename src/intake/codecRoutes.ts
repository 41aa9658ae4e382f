import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fieldProblems } from '../alerts/schema';
import { isLoopback } from './authenticate';
import { decodeJsonBody } from './body';

export interface CodecRouteDeps {
  codec: PayloadCodec;
  /** Origins whose pages may call the codec (the Temporal Web UI). */
  uiOrigins: string[];
}

// The Web UI's remote codec protocol: payloads as JSON, bytes as base64.
const JsonPayload = z.object({
  metadata: z.record(z.string(), z.base64()).default({}),
  data: z.base64().default(''),
});
const CodecRequest = z.object({ payloads: z.array(JsonPayload).max(10_000) });
type JsonPayload = z.infer<typeof JsonPayload>;

const fromJson = ({ metadata, data }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(data, 'base64'),
});
const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
});

// Histories carry payloads up to Temporal's 2 MB each; a page of them is more than an alert.
const CODEC_BODY_LIMIT = 16 * 1024 * 1024;
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

/**
 * `POST /codec/decode` and `/codec/encode` for the Web UI (`--ui-codec-endpoint`). Loopback
 * only: whoever reaches it reads every case in clear, so it is as private as the key file.
 */
export function codecRoutes({ codec, uiOrigins }: CodecRouteDeps) {
  const allowed = new Set(uiOrigins);
  const cors = (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    if (origin && allowed.has(origin)) {
      reply.header('access-control-allow-origin', origin).header('vary', 'origin');
      reply.header('access-control-allow-headers', 'content-type, x-namespace, authorization');
      reply.header('access-control-allow-methods', 'POST, OPTIONS');
    }
  };
  // Before the body is read: a remote client, a page from another origin, or a loopback address
  // reached under a foreign host name (DNS rebinding) gets nothing decoded.
  const onRequest = async (request: FastifyRequest, reply: FastifyReply) => {
    cors(request, reply);
    const origin = request.headers.origin;
    if (!isLoopback(request.ip) || !LOOPBACK_HOST.test(request.headers.host ?? ''))
      return reply.code(403).send({ error: 'the codec answers loopback clients only' });
    if (origin && !allowed.has(origin))
      return reply.code(403).send({
        error: 'the codec answers the Web UI only',
        problems: [{ field: 'origin', message: `${origin.slice(0, 100)} is not the Web UI's origin` }],
      });
  };
  return async (app: FastifyInstance) => {
    for (const direction of ['decode', 'encode'] as const) {
      app.options(`/codec/${direction}`, { onRequest }, async (_request, reply) => reply.code(204).send());
      app.post(`/codec/${direction}`, { bodyLimit: CODEC_BODY_LIMIT, onRequest }, async (request, reply) => {
        const decoded = decodeJsonBody(request.body as Buffer);
        if (!decoded.ok) return reply.code(400).send({ error: 'body is not usable JSON', problems: [decoded.problem] });
        const parsed = CodecRequest.safeParse(decoded.value);
        if (!parsed.success)
          return reply.code(400).send({ error: 'invalid codec request', problems: fieldProblems(parsed.error) });
        const payloads = parsed.data.payloads.map(fromJson);
        try {
          const result = direction === 'decode' ? await codec.decode(payloads) : await codec.encode(payloads);
          return { payloads: result.map(toJson) };
        } catch (err) {
          return reply.code(422).send({
            error: 'payloads not decoded',
            problems: [{ field: 'payloads', message: (err as Error).message }],
          });
        }
      });
    }
  };
}
