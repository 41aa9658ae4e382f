// An alert file as the CLI reads it: the intake's reading of a body (`readAlertBody`), so a file
// behaves exactly as if it had been posted.
import { formatNamed, FORMAT_NAMES, type AlertFormat } from '../alerts/formats';
import type { Alert } from '../alerts/schema';
import type { Inventory } from '../inventory';
import { readAlertBody } from '../intake/readAlert';
import { UsageError } from './errors';
import { readInput } from './io';

/** Problems as the CLI prints them, one field a line. */
export const listProblems = (problems: { field: string; message: string }[]) =>
  problems.map((p) => `  ${p.field}: ${p.message}`).join('\n');

/** The format `--format` names (undefined: detected); an unknown name is a usage error. */
export function formatOption(name: string | undefined): AlertFormat | undefined {
  const format = name === undefined ? undefined : formatNamed(name);
  if (name !== undefined && !format) throw new UsageError(`unknown format ${name}; use ${FORMAT_NAMES.join(', ')}`);
  return format;
}

/** The alert in a file, its principal resolved through `inventory`, when given. */
export const validAlert = (file: string, formatName?: string, inventory?: Inventory) =>
  alertFromBytes(readInput(file), file, formatName, inventory);

/** The alert these bytes hold, in any supported format; `label` names them in errors. */
export function alertFromBytes(raw: Buffer, label: string, formatName?: string, inventory?: Inventory): Alert {
  const reading = readAlertBody({ raw, format: formatOption(formatName), headers: {} }, inventory);
  if (reading.outcome === 'ignored') throw new UsageError(`${label} opens no containment: ${reading.reason}`);
  if (reading.outcome === 'refused')
    throw new UsageError(`${reading.error} in ${label}:\n${listProblems(reading.problems)}`);
  return reading.alert;
}
