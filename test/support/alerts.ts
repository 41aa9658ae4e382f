import type { Alert } from '../../src/alerts';

let counter = 0;

/** A valid native alert for a simulated identity; override any field. */
export function makeAlert(overrides: Partial<Alert> = {}): Alert {
  counter += 1;
  return {
    id: `alert-${counter}`,
    source: 'test',
    kind: 'secret_leak',
    severity: 'high',
    confidence: 0.9,
    identity: { provider: 'simulated', id: `svc-${counter}` },
    ...overrides,
  };
}
