import { Runtime, type Logger as TemporalLogger } from '@temporalio/worker';
import type { Logger } from '../src/log';

/** Adapts pino to the Temporal SDK's logger interface. */
export function temporalLogger(logger: Logger): TemporalLogger {
  const sdk = logger.child({ component: 'temporal-sdk' });
  const at = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: object) =>
    sdk[level](meta ?? {}, message);
  return {
    log: (level, message, meta) => {
      const pinoLevel = level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
      sdk[pinoLevel](meta ?? {}, message);
    },
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

let installed = false;

/**
 * Installs the Temporal runtime once per process, before any connection or worker exists.
 * Signals are left to the caller, which drains intake and worker in order.
 */
export function installRuntime(logger: Logger): void {
  if (installed) return;
  Runtime.install({ logger: temporalLogger(logger), shutdownSignals: [] });
  installed = true;
}
