import { AlertSchema } from '../schema';
import { defineFormat } from './types';

/**
 * Cordon's own alert. An authenticated source is recorded as the alert's source (it is the
 * forwarder the audit names); what the payload claimed is kept as evidence.
 */
export const native = defineFormat({
  name: 'native',
  parse: (payload) => AlertSchema.safeParse(payload),
  detect: () => true,
  adapt(alert, { source }) {
    if (!source || source === alert.source) return { kind: 'alert', alert };
    return { kind: 'alert', alert: { ...alert, source, evidence: { ...alert.evidence, reportedSource: alert.source } } };
  },
});
