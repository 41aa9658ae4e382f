import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { redactSecrets, redactText } from '../secrets/redact';

export type { Logger } from 'pino';

// Field names whose values are credentials; pino replaces them before anything is written.
const REDACTED_PATHS = [
  'secret',
  'token',
  'password',
  'apiKey',
  'authorization',
  '*.secret',
  '*.token',
  '*.password',
  '*.apiKey',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
];

// Plain data is redacted like an alert; errors keep their type with message and stack redacted;
// anything else (requests, sockets) is left to its serializer.
function redactField(value: unknown): unknown {
  if (value instanceof Error) {
    return { type: value.name, message: redactText(value.message), stack: value.stack && redactText(value.stack) };
  }
  const plain =
    value === null ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    Object.getPrototypeOf(value) === Object.prototype;
  return plain ? redactSecrets(value) : value;
}

/** Every field of a log line with the secrets in it replaced by fingerprints. */
export function redactLogFields(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, redactField(v)]));
}

// A query string can carry a credential; the path is what a reader of the log needs.
const requestSerializer = (req: { method?: string; url?: string; ip?: string; id?: unknown }) => ({
  method: req.method,
  url: req.url && redactText(req.url),
  remoteAddress: req.ip,
});

/**
 * Creates the process logger: JSON lines, pretty-printed when stdout is a terminal. Both write
 * synchronously, in this thread: the last lines before an exit (the shutdown steps) are never lost.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'cordon' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    formatters: { log: redactLogFields },
    serializers: { req: requestSerializer },
  };
  if (destination) return pino(options, destination);
  if (process.stdout.isTTY) {
    return pino(options, pretty({ colorize: true, sync: true }));
  }
  return pino(options);
}
