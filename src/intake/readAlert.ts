// Reading one delivered body as an alert, in its format (named or detected): decoding, validation
// and principal resolution, with no side effects. The intake's pipeline (acceptAlert.ts) starts
// here, and so do `cordon plan` and the other commands that read an alert file.
import { createHash } from 'node:crypto';
import { normalizeAlert, type AlertFormat, type FormatName } from '../alerts/formats';
import type { Alert, FieldProblem } from '../alerts/schema';
import { evidenceReferenceIn } from '../evidence/store';
import type { Resolution } from '../inventory/resolve';
import type { Inventory } from '../inventory/schema';
import { decodeJsonBody } from './body';
import type { RejectReason } from './metrics';
import type { Source } from './sources';

type Headers = Record<string, string | string[] | undefined>;

/** One alert as it arrived: its exact bytes and what came with them. */
export interface AlertDelivery {
  raw: Buffer;
  /** The format the path or `--format` names; undefined: detected from the payload. */
  format?: AlertFormat;
  /** The authenticated source; undefined for loopback clients without a sources file, and the CLI. */
  source?: Source;
  headers: Headers;
  /** Turns shadow mode on (`?shadow=true`, `--shadow`); nothing turns it off. */
  shadow?: boolean;
  /** Hand the alert over without asking its case what it made of it (`Prefer: respond-async`). */
  respondAsync?: boolean;
}

/** Why an alert is refused: the answer's status, error and fields, and the metrics' reason. */
export interface Refusal {
  outcome: 'refused';
  status: number;
  format: FormatName | 'unknown';
  reason: RejectReason;
  error: string;
  problems: FieldProblem[];
}

/** A body read as an alert: a native alert (with the payload it came from), an event that opens nothing, or a refusal. */
export type AlertReading =
  | { outcome: 'alert'; format: FormatName; alert: Alert; resolution: Resolution; payload: unknown }
  | { outcome: 'ignored'; format: FormatName; reason: string }
  | Refusal;

export const refusal = (
  status: number,
  format: FormatName | 'unknown',
  reason: RejectReason,
  error: string,
  problems: FieldProblem[],
): Refusal => ({ outcome: 'refused', status, format, reason, error, problems });

/** The refusal of a format the source may not send. */
export const formatNotAllowed = (source: Source, format: FormatName) =>
  refusal(403, format, 'format_not_allowed', 'format not allowed for this source', [
    { field: 'format', message: `source ${source.name} may send ${source.formats.join(', ')}, not ${format}` },
  ]);

const sha256 = (raw: Buffer) => `sha256:${createHash('sha256').update(raw).digest('hex')}`;

/**
 * Decodes and validates a body in its format (named or detected), resolving its principal through
 * `inventory` when given: no side effects, nothing counted.
 */
export function readAlertBody({ raw, format, source, headers }: AlertDelivery, inventory?: Inventory): AlertReading {
  const decoded = decodeJsonBody(raw);
  if (!decoded.ok)
    return refusal(400, format?.name ?? 'unknown', decoded.reason, 'body is not usable JSON', [decoded.problem]);
  const context = { source: source?.name, provider: source?.provider, headers, rawDigest: sha256(raw), inventory };
  const normalized = normalizeAlert(decoded.value, context, format);
  const name = normalized.format;
  if (normalized.outcome === 'invalid')
    return refusal(400, name, 'invalid_alert', `invalid ${name} alert`, normalized.problems);
  if (normalized.outcome === 'unusable')
    return refusal(422, name, 'unusable_alert', `${name} alert names nothing Cordon can contain`, normalized.problems);
  if (source && !source.formats.includes(normalized.format)) return formatNotAllowed(source, normalized.format);
  if (normalized.outcome === 'ignored') return normalized;
  // That shape means "stored by the intake": from a forwarder it would be a false fingerprint.
  if (evidenceReferenceIn(normalized.alert.evidence))
    return refusal(400, normalized.format, 'invalid_alert', `invalid ${normalized.format} alert`, [
      { field: 'evidence', message: 'evidenceRef and evidenceBytes alone are set by the intake, not by a forwarder' },
    ]);
  return { ...normalized, payload: decoded.value };
}
