// `cordon`: the command line for forwarders, approvers and engineers. Each command loads its
// module when it runs: the Temporal client, the SDK's worker, the databases and the intake take
// seconds to load, and `--help` or `plan` need none of them (BENCHMARKS.md, "CLI start-up").
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/error';
import { ConfigFileError } from '../policy/fileError';
import type { DecisionOptions } from './decisionCommands';
import { ExitCode, UsageError } from './errors';
import { printJson } from './io';
import type { DiffSourceOptions } from './policyCommands';

// Each command's module, loaded when the command runs. With require, not import(): tsx's CommonJS
// hook (bin/cordon.js running the sources) sees only require, as the compiled code does.
const load = {
  alertSend: () => require('./alertSend') as typeof import('./alertSend'),
  plan: () => require('./planCommand') as typeof import('./planCommand'),
  policy: () => require('./policyCommands') as typeof import('./policyCommands'),
  tokens: () => require('./tokens') as typeof import('./tokens'),
  client: () => require('./commands') as typeof import('./commands'),
  decisions: () => require('./decisionCommands') as typeof import('./decisionCommands'),
  killSwitch: () => require('./killSwitchCommand') as typeof import('./killSwitchCommand'),
  audit: () => require('./auditCommand') as typeof import('./auditCommand'),
  test: () => require('./testCommand') as typeof import('./testCommand'),
  replay: () => require('./replay') as typeof import('./replay'),
};

type DiffOutputOptions = { inventory?: string; json?: boolean; failOnChange?: boolean };

function program(): Command {
  const cli = new Command('cordon')
    .description('Contain compromised non-human identities on Temporal')
    .exitOverride()
    .showHelpAfterError();

  const alert = cli.command('alert').description('send alerts to Cordon');
  alert
    .command('send')
    .argument('<file>', 'alert JSON file, or - for stdin')
    .option('--format <format>', 'native | ocsf | github | guardduty | falco (default: detected)')
    .option('--shadow', 'dry run: the shadow case (shadow:contain:…) runs in full but performs no provider action')
    .description(
      "start or join the identity's containment workflow, as the intake takes the file (through the running service when there is one)",
    )
    .action(async (file: string, opts: { format?: string; shadow?: boolean }) => {
      process.exitCode = await load.alertSend().sendAlert(file, opts);
    });

  cli
    .command('plan')
    .argument('<alert>', 'alert JSON file, or - for stdin')
    .option('--format <format>', 'native | ocsf | github | guardduty | falco (default: detected)')
    .option('--policy <file>', 'policy YAML (default: CORDON_POLICY_FILE)')
    .option('--inventory <file>', 'inventory YAML (default: CORDON_INVENTORY_FILE)')
    .option('--json', 'the full plan as JSON (default: a table)')
    .description('print the containment plan for an alert as a table (--json: the whole plan); needs no Temporal')
    .action((file: string, opts: { format?: string; policy?: string; inventory?: string; json?: boolean }) =>
      load.plan().printPlan(file, opts),
    );

  const policy = cli.command('policy').description('check policy files before they ship; needs no Temporal');
  policy
    .command('lint')
    .argument('<file>', 'policy YAML')
    .option('--strict', 'exit 1 on warnings too')
    .description(
      'report schema errors, dead rules, misordered stages and unapproved destructive stages as FILE:LINE:COL; exit 1 on errors',
    )
    .action((file: string, opts: { strict?: boolean }) => {
      process.exitCode = load.policy().lintPolicyFile(file, opts);
    });
  policy
    .command('diff')
    .argument('<old>', 'policy YAML in force')
    .argument('<new>', 'policy YAML proposed')
    .option('--alerts <dir>', 'folder of alert JSON files (any supported format), or one file')
    .option('--from-audit', "the audit store's cases, each replayed from its first alert (needs Temporal too)")
    .option('--since <iso-time>', '--from-audit: only cases that received an alert at or after this time')
    .option('--from-history <query>', 'the containment cases whose runs this visibility query matches')
    .option('--inventory <file>', 'inventory YAML (default: CORDON_INVENTORY_FILE)')
    .option('--json', 'machine-readable output')
    .option('--fail-on-change', 'exit 1 when any plan changes (for CI gates)')
    .description('plan alerts or real cases under both policies and print the plans that change')
    .action(async (oldFile: string, newFile: string, opts: DiffSourceOptions & DiffOutputOptions) => {
      process.exitCode = await load.policy().diffPolicyFiles(oldFile, newFile, opts);
    });

  cli
    .command('source')
    .argument('<action>', 'token')
    .argument('<name>', 'the source name, e.g. siem')
    .description('make a bearer token for an alert source; prints the token once and the hash for the sources file')
    .action((action: string, name: string) => {
      if (action !== 'token') throw new UsageError(`unknown source action ${action}; use token`);
      process.stdout.write(load.tokens().sourceToken(name));
    });

  cli
    .command('status')
    .argument('<workflowId>', 'e.g. contain:simulated:svc-deploy')
    .description("print a containment workflow's status as JSON")
    .action((workflowId: string) => {
      const { showStatus, withClient } = load.client();
      return withClient(showStatus(workflowId));
    });

  cli
    .command('approver')
    .argument('<action>', 'token')
    .argument('<name>', "the approver's name as the policy's groups list it")
    .description('make a bearer token for an approver; prints the token once and the hash for the approvers file')
    .action((action: string, name: string) => {
      if (action !== 'token') throw new UsageError(`unknown approver action ${action}; use token`);
      process.stdout.write(load.tokens().approverToken(name));
    });

  // With a token (or CORDON_APPROVER_TOKEN) through the decision API; else a claim as --as.
  const decisionCommand = (name: string, description: string) =>
    cli
      .command(name)
      .argument('<workflowId>')
      .option('--token <token>', 'your approver token (default: CORDON_APPROVER_TOKEN): the decision is verified')
      .option('--as <name>', 'without a token: the name you claim (counts only in claimed mode)')
      .option('--reason <text>')
      .description(`${description} (refusals exit 2 with the reason)`);
  for (const decision of ['approve', 'deny'] as const) {
    decisionCommand(decision, `${decision} the pending request`)
      .requiredOption('--request <id>', 'approval request id (see status)')
      .option('--digest <actionDigest>', 'the action digest the request shows (refused if it changed)')
      .action((workflowId: string, opts: DecisionOptions & { request: string; digest?: string }) =>
        load.client().runDecision(load.decisions().decide(workflowId, decision, opts)),
      );
  }
  for (const [name, description] of [
    ['false-positive', 'declare the alerts a false positive: every reversible step is undone'],
    ['pause', 'hold every new action of the case until resume'],
    ['resume', 'let a paused case act again'],
  ] as const) {
    decisionCommand(name, description).action((workflowId: string, opts: DecisionOptions) =>
      load.client().runDecision(load.decisions().control(workflowId, name, opts)),
    );
  }

  cli
    .command('kill-switch')
    .argument('<action>', 'engage | release | status')
    .option('--token <token>', 'your approver token (default: CORDON_APPROVER_TOKEN)')
    .option('--as <who>', 'without a token: who engages or releases (claimed mode only)')
    .option('--reason <text>')
    .description('the global kill switch: engaged, no new state-changing action starts anywhere')
    .action(async (action: string, opts) => printJson(await load.killSwitch().killSwitch(action, opts)()));

  cli
    .command('audit')
    .argument('<action>', 'list | export | verify | rebuild')
    .option('--workflow <id>', 'one containment workflow')
    .option('--identity <provider:id>', 'one identity (list, export)')
    .option('--since <iso-time>', 'entries recorded at or after (list, export)')
    .option('--format <format>', 'export format', 'jsonl')
    .option('--from-history', 'rebuild: re-derive entries from Temporal histories and compare')
    .option('--public-key <file>', 'verify: the audit signing public key (default CORDON_AUDIT_PUBLIC_KEY_FILE)')
    .option('--checkpoints <file>', 'verify: the signed checkpoints file (default CORDON_AUDIT_CHECKPOINT_FILE)')
    .description('read the audit store: list, export JSONL, verify chains and signatures, compare with histories')
    .action(async (action: string, opts) => {
      process.exitCode = await load.audit().audit(action, opts)();
    });

  cli
    .command('test')
    .argument('[paths...]', 'playbook test files or folders of *.test.yaml (default: playbooks/)')
    .option('--json', 'every result as JSON')
    .option('--bundle <file>', 'prebuilt workflow bundle (default: CORDON_WORKFLOW_BUNDLE, else bundle the sources)')
    .description(
      'run playbook tests as real cases on the time-skipping test server; needs no running service. Exit 1 on a failure, 2 on a bad file',
    )
    .action(async (paths: string[], opts: { json?: boolean; bundle?: string }) => {
      process.exitCode = await load.test().runTests(paths, opts);
    });

  cli
    .command('replay')
    .argument('[files...]', 'histories exported with `temporal workflow show --output json`')
    .option('--query <query>', 'replay the histories of every workflow this visibility query matches')
    .option('--bundle <file>', 'prebuilt workflow bundle (default: CORDON_WORKFLOW_BUNDLE, else bundle the sources)')
    .description('replay workflow histories with the current workflow code; exit 1 names each nondeterministic one')
    .action(async (files: string[], opts: { query?: string; bundle?: string }) => {
      process.exitCode = await load.replay().replayCommand(files, opts);
    });

  return cli;
}

async function run(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof ConfigFileError) {
      console.error(`cordon: ${err.message}`);
      return ExitCode.usage;
    }
    console.error(`cordon: ${(err as Error).message}`);
    return ExitCode.failure;
  }
}

run(process.argv).then((code) => process.exit(code));
