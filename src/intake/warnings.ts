// What the intake tells a forwarder about an alert it accepted but whose case cannot do all a case
// should: the alert is durable all the same (200/202), and nothing about it fails silently.
import type { Alert } from '../alerts/schema';
import type { Resolution } from '../inventory/resolve';
import type { Inventory } from '../inventory/schema';

/** The kinds of warning: the `code` of each, and the label of `cordon_alert_warnings_total`. */
export const WARNING_CODES = ['unresolved-identity', 'no-connector', 'not-in-inventory'] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

/** One warning in the intake's answer. */
export interface IntakeWarning {
  code: WarningCode;
  message: string;
}

/** What the intake knows of the worker: the identity systems it has connectors for. */
export interface ServedProviders {
  has(provider: string): boolean;
}

/** What the process that accepted an alert knows of the worker's configuration. */
export interface WorkerView {
  /** Whether the alert was resolved through the worker's inventory (else nothing is said of it). */
  inventory: boolean;
  /** Absent: which connectors the worker serves is not known here (the CLI), so nothing is said of them. */
  providers?: ServedProviders;
}

/** The warnings for an accepted alert. */
export function warningsFor(alert: Alert, resolution: Resolution, known: WorkerView): IntakeWarning[] {
  if (resolution.kind === 'unresolved')
    return [
      { code: 'unresolved-identity', message: `${resolution.reason}; the case only observes and needs attention` },
    ];
  const { provider, id } = alert.identity;
  const warnings: IntakeWarning[] = [];
  if (known.providers && !known.providers.has(provider))
    warnings.push({
      code: 'no-connector',
      message: `no connector serves provider "${provider}" here: the case cannot act on ${provider}:${id} and will need attention; configure the ${provider} connector (README, Configuration)`,
    });
  if (known.inventory && !resolution.record)
    warnings.push({
      code: 'not-in-inventory',
      message: `${provider}:${id} is not in the inventory: it gets the most conservative plan (never revoked or rotated without approval); add it, or an alias, to plan with its owner and class`,
    });
  return warnings;
}

/** The worker's inventory and connectors, as this process's own config says (the same files and settings). */
export interface IdentityDirectory {
  /** The inventory as its file says now; throws when the file cannot be read. */
  inventory(): Inventory;
  /** Absent where the worker's connectors are not known (the CLI). */
  providers?: ServedProviders;
}

/**
 * The inventory to resolve an alert with. A file that cannot be read now is no reason to refuse
 * an alert: it is said in the log, and the alert is taken as named.
 */
export function inventoryNow(
  directory: IdentityDirectory | undefined,
  log: { error(obj: object, msg: string): void },
): Inventory | undefined {
  try {
    return directory?.inventory();
  } catch (err) {
    log.error({ err: (err as Error).message }, 'inventory unreadable: alerts are taken as named, unresolved');
    return undefined;
  }
}
