import pino, { type Logger } from 'pino';

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

/** Creates the process logger: JSON lines, pretty-printed when stdout is a terminal. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'cordon' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (destination) return pino(options, destination);
  if (process.stdout.isTTY) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino(options);
}
