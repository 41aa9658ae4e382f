import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec } from './aesGcm';
import { loadPayloadKeys, type KeySettings } from './keys';

export { AesGcmCodec, isEncrypted } from './aesGcm';
export { loadPayloadKeys, newKeyEntry, parsePayloadKeys, type PayloadKeys } from './keys';

/**
 * The data converter every client and worker of this process uses: payloads encrypted when a
 * key is configured (the service creates one in its data dir on first start).
 */
export function dataConverterFor(settings: KeySettings, { create = false } = {}): DataConverter {
  const keys = loadPayloadKeys(settings, create);
  return keys ? { payloadCodecs: [new AesGcmCodec(keys)] } : {};
}
