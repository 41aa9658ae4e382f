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
 * Signals are left to the caller, which drains intake and worker in order. With `metricsPort`
 * the worker's metrics (task latencies, activity failures and retries, slots) are served
 * as Prometheus text on 127.0.0.1:<port>/metrics.
 */
export function installRuntime(logger: Logger, { metricsPort }: { metricsPort?: number } = {}): void {
  if (installed) return;
  Runtime.install({
    logger: temporalLogger(logger),
    shutdownSignals: [],
    telemetryOptions: {
      // The SDK core's own warnings go through Cordon's logger (and its redaction), not the console.
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      ...(metricsPort && { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } }),
    },
  });
  installed = true;
}
