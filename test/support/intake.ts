// An intake on a real listening port, with sources, and a way to post to it.
import { createHmac } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { buildIntake, type IntakeDeps } from '../../src/intake/server';
import { hashToken, newToken, type Source } from '../../src/intake/sources';
import { testLogger } from './temporal';

export const GITHUB_KEY = 'test-webhook-key';
export const SIEM = newToken();

/** A bearer source (native, OCSF; identities in the simulated provider) and a GitHub HMAC source. */
export const TEST_SOURCES: Source[] = [
  {
    name: 'siem',
    formats: ['native', 'ocsf'],
    tokens: [SIEM.hash],
    provider: 'simulated',
    rateLimit: { perSecond: 10_000, burst: 10_000 },
  },
  {
    name: 'github-acme',
    formats: ['github'],
    tokens: [],
    hmacKey: Buffer.from(GITHUB_KEY),
    provider: 'simulated',
    rateLimit: { perSecond: 10_000, burst: 10_000 },
  },
  { name: 'tight', formats: ['native'], tokens: [hashToken('tight-token')], rateLimit: { perSecond: 0.001, burst: 2 } },
];

export const signature = (body: Buffer | string, key = GITHUB_KEY) =>
  `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;

export interface Posted {
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

/** Starts an intake on 127.0.0.1; returns its URL and a poster. */
export async function startIntake(
  client: Client,
  taskQueue: string,
  options: Partial<Omit<IntakeDeps, 'client' | 'taskQueue'>> = {},
) {
  const app = buildIntake({
    ...options,
    client,
    taskQueue,
    logger: options.logger ?? testLogger,
    sources: 'sources' in options ? options.sources : TEST_SOURCES,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const post = async (
    route: string,
    body: Buffer | string | object,
    headers: Record<string, string> = {},
  ): Promise<Posted> => {
    const payload = Buffer.isBuffer(body) || typeof body === 'string' ? body : JSON.stringify(body);
    const res = await fetch(`${url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: payload,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: JSON.parse(text) };
  };
  const metrics = async () => (await fetch(`${url}/metrics`)).text();
  return { app, url, post, metrics, close: () => app.close() };
}

/** The value of one Prometheus sample, 0 when absent. */
export function sample(metricsText: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = metricsText.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').pop()) : 0;
}
