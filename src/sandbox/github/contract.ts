// GitHub has no local server, so the GitHub connector is tested (and the sandbox contains) against a contract server: Prism
// (@stoplight/prism-cli) in proxy mode with --errors, serving the operations Cordon uses from
// GitHub's published OpenAPI description (@octokit/openapi), in front of a small stateful fake.
// Prism checks every request and every response against the description and answers a violation
// with an error instead of passing it on; the fake keeps the state the tests observe.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../net';
import { PROJECT_ROOT } from '../../temporal/binaries';
import { launch, serve, serverEnvironment } from '../launch';
import { GitHubFake } from './fake';

/** The operations the connector calls, as GitHub's description names their paths. */
export const GITHUB_OPERATIONS = [
  ['/credentials/revoke', 'post'],
  ['/repos/{owner}/{repo}/secret-scanning/alerts/{alert_number}', 'get'],
  ['/repos/{owner}/{repo}/secret-scanning/alerts/{alert_number}', 'patch'],
  ['/orgs/{org}/personal-access-tokens', 'get'],
  ['/orgs/{org}/personal-access-tokens/{pat_id}', 'post'],
] as const;

type Json = Record<string, any>;

// Every `#/components/...` reference reachable from `root`, copied from `all` (transitively).
function referencedComponents(root: unknown, all: Json): Json {
  const components: Json = {};
  const pending = [root];
  while (pending.length) {
    const node = pending.pop();
    if (!node || typeof node !== 'object') continue;
    const ref = (node as Json).$ref;
    if (typeof ref === 'string' && ref.startsWith('#/components/')) {
      const [kind, name] = ref.slice('#/components/'.length).split('/');
      if (!components[kind]?.[name]) {
        (components[kind] ??= {})[name] = all[kind][name];
        pending.push(all[kind][name]);
      }
    }
    pending.push(...Object.values(node));
  }
  return components;
}

/**
 * Prism compiles response schemas with Ajv, which refuses OpenAPI 3.0's `nullable` on a schema
 * without `type` (GitHub's `nullable-secret-scanning-first-detected-location` is a nullable
 * `oneOf`); Prism then skips validating that response altogether. The same meaning, written so
 * Ajv compiles it: null becomes one more alternative.
 */
function nullableAlternatives(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  const schema = node as Json;
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (schema.nullable === true && schema.type === undefined && Array.isArray(alternatives)) {
    alternatives.push({ type: 'object', nullable: true, not: { type: 'object' } });
    delete schema.nullable;
  }
  Object.values(schema).forEach(nullableAlternatives);
}

/** The part of GitHub's published description the connector uses, with everything it references. */
export function githubDescription(): Json {
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json', { paths: [PROJECT_ROOT] });
  const full = JSON.parse(readFileSync(file, 'utf8')) as Json;
  const paths: Json = {};
  for (const [route, method] of GITHUB_OPERATIONS) (paths[route] ??= {})[method] = full.paths[route][method];
  const description = {
    openapi: full.openapi,
    info: full.info,
    servers: full.servers,
    paths,
    components: referencedComponents(paths, full.components),
  };
  nullableAlternatives(description);
  return description;
}

/** A running contract server: `url` is what the connector is given; `fake` holds the state. */
export interface GitHubContract {
  url: string;
  fake: GitHubFake;
  /** Prism's output so far (requests it refused, violations it found). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the fake and Prism in front of it, on free loopback ports; `token` is what the fake accepts. */
export async function startGitHubContract(token: string): Promise<GitHubContract> {
  const description = githubDescription();
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-github-'));
  const document = path.join(dir, 'github-operations.json');
  writeFileSync(document, JSON.stringify(description));
  const fake = await GitHubFake.start(description, token);
  const port = await freePort();
  const prismCli = require.resolve('@stoplight/prism-cli/dist/index.js', { paths: [PROJECT_ROOT] });
  const prism = launch(
    process.execPath,
    [prismCli, 'proxy', document, fake.url, '--errors', '-h', '127.0.0.1', '-p', String(port), '-v', 'warn'],
    serverEnvironment({ SCARF_ANALYTICS: 'false' }),
  );
  // Prism answers an unknown path with a 404 problem: any answer means it is listening.
  const server = await serve('Prism', prism, `http://127.0.0.1:${port}/`, () => true, 120_000).catch(async (err) => {
    await fake.close();
    throw err;
  });
  return {
    url: server.url,
    fake,
    output: prism.output,
    async stop() {
      await Promise.all([server.stop(), fake.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
