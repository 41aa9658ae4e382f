// `cordon`: the command line for forwarders, approvers and engineers.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { Command, CommanderError } from 'commander';
import { parseAlert } from '../alerts';
import { connectClient } from '../client/connect';
import { submitAlert } from '../client/submitAlert';
import { ConfigError, loadConfig } from '../config';
import { statusQuery } from '../../workflows/definitions';
import { ExitCode, UsageError } from './errors';
import { printJson, readJsonFile } from './io';

async function withClient<T>(fn: (client: Client, taskQueue: string) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const client = await connectClient(config);
  try {
    return await fn(client, config.CORDON_TASK_QUEUE);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no such workflow: ${err.workflowId}`);
    throw err;
  } finally {
    await client.connection.close();
  }
}

function program(): Command {
  const cli = new Command('cordon')
    .description('Contain compromised non-human identities on Temporal')
    .exitOverride()
    .showHelpAfterError();

  const alert = cli.command('alert').description('send alerts to Cordon');
  alert
    .command('send')
    .argument('<file>', 'native alert JSON file, or - for stdin')
    .description("start or join the identity's containment workflow")
    .action(async (file: string) => {
      const parsed = parseAlert(readJsonFile(file));
      if (!parsed.ok) {
        throw new UsageError(
          `invalid alert in ${file}:\n${parsed.problems.map((p) => `  ${p.field}: ${p.message}`).join('\n')}`,
        );
      }
      printJson(await withClient((client, taskQueue) => submitAlert(client, taskQueue, parsed.alert)));
    });

  cli
    .command('status')
    .argument('<workflowId>', 'e.g. contain:simulated:svc-deploy')
    .description("print a containment workflow's status as JSON")
    .action(async (workflowId: string) => {
      printJson(await withClient((client) => client.workflow.getHandle(workflowId).query(statusQuery)));
    });

  return cli;
}

async function run(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (err instanceof UsageError || err instanceof ConfigError) {
      console.error(`cordon: ${err.message}`);
      return ExitCode.usage;
    }
    console.error(`cordon: ${(err as Error).message}`);
    return ExitCode.failure;
  }
}

run(process.argv).then((code) => process.exit(code));
