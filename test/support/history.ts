import type { WorkflowHandle } from '@temporalio/client';

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

/** A workflow's whole history as text with every payload decoded, for "never contains" checks. */
export async function decodedHistoryText(handle: WorkflowHandle): Promise<string> {
  return JSON.stringify(decodePayloads(await handle.fetchHistory()));
}
