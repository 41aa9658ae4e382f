// `npm start`: the service. What it runs is its role (CORDON_ROLE, src/service/start.ts): the
// worker, the HTTP intake, or both; SIGINT/SIGTERM drain them in reverse order.
import { ConfigError, loadConfig, type Config } from './config';
import { dataDirOwner } from './audit/access';
import { signingKeyProblem } from './audit/notary';
import { ConfigFileError, loadInventory, loadPolicy } from './policy/load';
import { isLoopback } from './intake/authenticate';
import { ApproverDirectory } from './approvers/authenticate';
import { loadSources } from './intake/sources';
import { createLogger } from './log';
import type { Stop } from './service/shared';
import { startService, type Settings } from './service/start';

// The service takes one option. The sandbox's fake credentials and throwaway systems must never
// meet a shared Temporal namespace or audit store: its cases would claim containments of nothing.
function sandboxOption(args: string[], config: Config): boolean {
  const unknown = args.filter((arg) => arg !== '--sandbox');
  if (unknown.length)
    throw new ConfigError([
      { variable: 'arguments', problem: `unknown option ${unknown[0]} (the one option is --sandbox)` },
    ]);
  if (!args.length) return false;
  for (const variable of ['TEMPORAL_ADDRESS', 'DATABASE_URL'] as const)
    if (config[variable])
      throw new ConfigError([
        { variable, problem: 'must be unset with --sandbox: the sandbox runs on its own, locally' },
      ]);
  return true;
}

function configOrExit(): Settings {
  try {
    const config = loadConfig();
    loadPolicy(config.CORDON_POLICY_FILE);
    loadInventory(config.CORDON_INVENTORY_FILE);
    const sources = config.CORDON_SOURCES_FILE ? loadSources(config.CORDON_SOURCES_FILE) : undefined;
    // Unauthenticated intake is for one operator on one machine, never a network.
    const servesIntake = config.CORDON_ROLE !== 'worker';
    if (servesIntake && !sources && !isLoopback(config.CORDON_HTTP_HOST) && config.CORDON_HTTP_HOST !== 'localhost') {
      throw new ConfigError([
        {
          variable: 'CORDON_SOURCES_FILE',
          problem: `required when CORDON_HTTP_HOST (${config.CORDON_HTTP_HOST}) is not loopback: alerts must be authenticated`,
        },
      ]);
    }
    const owner = dataDirOwner(config);
    if (owner)
      throw new ConfigError([{ variable: 'CORDON_DATA_DIR', problem: `in use by a running Cordon (pid ${owner})` }]);
    const keyProblem = signingKeyProblem(config);
    if (keyProblem) throw new ConfigError([{ variable: 'CORDON_AUDIT_SIGNING_KEY_FILE', problem: keyProblem }]);
    const approvers = config.CORDON_APPROVERS_FILE
      ? ApproverDirectory.load(config.CORDON_APPROVERS_FILE)
      : new ApproverDirectory({ approvers: [] });
    return { config, sources, approvers, sandbox: sandboxOption(process.argv.slice(2), config) };
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const { variable, problem } of err.problems) console.error(`cordon: invalid ${variable}: ${problem}`);
    } else if (err instanceof ConfigFileError) {
      console.error(`cordon: ${err.message}`);
    } else throw err;
    process.exit(2);
  }
}

async function run(): Promise<void> {
  const settings = configOrExit();
  const { config } = settings;
  const logger = createLogger(config.CORDON_LOG_LEVEL);
  const stops: Stop[] = [];
  let stopping: Promise<void> | undefined;

  // Reverse start order: stop taking alerts, drain the worker, then close what it used.
  const stop = (reason: string, code: number) =>
    (stopping ??= (async () => {
      logger.info({ reason }, 'shutting down');
      for (const { step, run } of stops.reverse()) {
        await run().then(
          () => logger.info({ step }, 'shutdown step done'),
          (err) => logger.error({ err, step }, 'shutdown step failed'),
        );
      }
      logger.info({ code }, 'stopped');
      logger.flush();
      process.exit(code);
    })());

  // Every signal is handled: a terminal's Ctrl-C reaches us twice (from the terminal and from npm),
  // and a second one left to its default would end the process in the middle of its shutdown.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      if (stopping) logger.info({ signal }, 'already shutting down');
      void stop(signal, 0);
    });
  try {
    const { workerDone } = await startService(settings, logger, stops);
    workerDone?.catch((err) => {
      logger.fatal({ err }, 'worker failed');
      void stop('worker failed', 1);
    });
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await stop('start-up failed', 1);
  }
}

void run();
