import { temporal } from '@temporalio/proto';
import type { Connection } from '@temporalio/client';
import type { Logger } from '../log';
import { SEARCH_ATTRIBUTES } from './searchAttributes';

const INDEXED_TYPE: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
};

/**
 * Registers Cordon's search attributes on an external server (the embedded one gets them as
 * start flags). Already-registered attributes are fine; a refusal (e.g. Temporal Cloud, where
 * attributes are managed outside the operator API) is logged, since workflows still run.
 */
export async function registerSearchAttributes(
  connection: Connection,
  namespace: string,
  logger: Logger,
): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const custom = Object.keys(customAttributes ?? {});
  const missing = SEARCH_ATTRIBUTES.filter((key) => !custom.includes(key.name));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_TYPE[key.type]])),
    });
    logger.info({ added: missing.map((k) => k.name) }, 'search attributes registered');
  } catch (err) {
    logger.warn({ err, missing: missing.map((k) => k.name) }, 'could not register search attributes');
  }
}
