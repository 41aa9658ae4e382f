import type { WorkflowHandle } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';

// Payload data is binary (or base64 once serialized); decode it so assertions see the values.
function decodePayloads(value: unknown, key = ''): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
  if (Array.isArray(value)) return value.map((item) => decodePayloads(item));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodePayloads(v, k)]));
  }
  return value;
}

// Every payload in a history object, decrypted in place by `codec`.
async function decrypt(value: unknown, codec: PayloadCodec): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((item) => decrypt(item, codec)));
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return value;
  const object = value as Record<string, unknown>;
  if (object.metadata && 'data' in object) return (await codec.decode([object as Payload]))[0];
  const entries = await Promise.all(Object.entries(object).map(async ([k, v]) => [k, await decrypt(v, codec)]));
  return Object.fromEntries(entries);
}

/**
 * A workflow's whole history as text with every payload decoded (decrypted first when given the
 * codec), for "never contains" checks.
 */
export async function decodedHistoryText(handle: WorkflowHandle, codec?: PayloadCodec): Promise<string> {
  const history = await handle.fetchHistory();
  return JSON.stringify(decodePayloads(codec ? await decrypt(history, codec) : history));
}
