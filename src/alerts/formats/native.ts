import { z } from 'zod';
import { ALERT_ID_MAX, AlertSchema } from '../schema';

const NativeAlert = AlertSchema.extend({ id: z.string().min(1).max(ALERT_ID_MAX) });
import { defineFormat } from './types';

/**
 * Cordon's own alert. An authenticated source is recorded as the alert's source (it is the
 * forwarder the audit names); what the payload claimed is kept as evidence.
 */
export const native = defineFormat({
  name: 'native',
  parse: (payload) => NativeAlert.safeParse(payload),
  detect: () => true,
  adapt(alert, { source }) {
    if (!source || source === alert.source) return { kind: 'alert', alert };
    return {
      kind: 'alert',
      alert: { ...alert, source, evidence: { ...alert.evidence, reportedSource: alert.source } },
    };
  },
});
