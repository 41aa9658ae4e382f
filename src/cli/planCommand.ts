// `cordon plan ALERT`: the plan the policy gives an alert, without Temporal.
import { loadConfig } from '../config';
import { findIdentity } from '../inventory';
import { loadInventory, loadPolicy } from '../policy/load';
import { plan } from '../policy/plan';
import { formatPlanTable } from '../policy/planTable';
import { validAlert } from './alertFile';
import { printJson } from './io';

/** The plan for the alert in `file` under these policy and inventory files. */
export function planAlert(file: string, format: string | undefined, policyFile: string, inventoryFile: string) {
  const inventory = loadInventory(inventoryFile);
  const alert = validAlert(file, format, inventory);
  return plan(alert, findIdentity(inventory, alert.identity), loadPolicy(policyFile));
}

/** Prints the plan as a table, or (`json`) whole. */
export function printPlan(
  file: string,
  opts: { format?: string; policy?: string; inventory?: string; json?: boolean },
) {
  const config = loadConfig();
  const planned = planAlert(
    file,
    opts.format,
    opts.policy ?? config.CORDON_POLICY_FILE,
    opts.inventory ?? config.CORDON_INVENTORY_FILE,
  );
  if (opts.json) printJson(planned);
  else process.stdout.write(formatPlanTable(planned));
}
