// The github connector against a contract server: no local GitHub exists, so Prism checks every
// request and response against GitHub's published OpenAPI description (@octokit/openapi) in
// front of a stateful fake (src/sandbox/github/contract.ts). Revoke of a leaked token and of a
// fine-grained PAT, idempotent repeats, error mapping, the secret kept out of everything, and
// the bundled GitHub alert contained end to end through the intake and the default policy.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubConnector } from '../activities/connectors/github';
import { GitHubFailure } from '../activities/connectors/github/client';
import type { Connector } from '../activities/connectors/types';
import { fingerprint } from '../src/digest';
import { auditQuery, decideUpdate } from '../workflows/definitions';
import { example } from './support/formats';
import { startGitHubContract, type GitHubContract } from '../src/sandbox/github/contract';
import { useHarness } from './support/harness';
import { decodedHistoryText } from './support/history';
import { startIntake } from './support/intake';
import { freePort } from './support/processes';
import { pendingRequestId, waitForStatus } from './support/scenario';
import { CONFIG_DIR } from './support/temporal';
import { recordingLogger } from './support/captured';

const TOKEN = `ghs_${randomBytes(18).toString('hex')}`;
/** A leaked token of a kind the credentials API revokes. */
const leakedToken = () => `ghp_${randomBytes(18).toString('hex')}`;

let contract: GitHubContract;
beforeAll(async () => {
  contract = await startGitHubContract(TOKEN);
});
// Registered before the harness: vitest runs afterAll hooks last-in first-out.
afterAll(() => contract?.stop());

const { logger, text: logText } = recordingLogger();
const settings = () => ({ apiUrl: contract.url, token: TOKEN });
const h = useHarness({
  connectors: () => ({ github: settings() }),
  policyFile: path.join(CONFIG_DIR, 'policy.yaml'),
  logger,
});

let keys = 0;
const request = (identityId: string, caseId = 'case-a') => ({ identityId, idempotencyKey: `test/${++keys}`, caseId });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable(),
    (err) => err as ApplicationFailure,
  );
let repos = 0;
/** A leaked token in a fresh repository of `acme`; its identity id. */
function leak(secret = leakedToken(), type?: string) {
  const repo = `service-${++repos}`;
  const number = contract.fake.addAlert({ owner: 'acme', repo, secret, type });
  return { secret, repo, number, id: `acme/${repo}/secret-scanning/${number}` };
}
const captured = async () =>
  JSON.stringify((await h.db.query('SELECT captured FROM connector_captures WHERE provider = $1', ['github'])).rows);

describe('github connector', () => {
  let connector: Connector;
  beforeAll(() => {
    connector = createGitHubConnector(h.db, settings());
  });

  it('revoke of a leaked token: the credentials API gets it, the alert is resolved as revoked naming the case; a repeat changes nothing', async () => {
    const { secret, repo, number, id } = leak();
    expect(connector.actions.revoke!.reversible).toBe(false);
    expect(connector.actions.revoke!.undo).toBeUndefined();
    const before = await connector.snapshot(id);
    expect(before).toMatchObject({ state: 'open', resolution: null, secretType: 'github_personal_access_token' });
    expect(await connector.verify(id, 'revoke', 'case-a')).toBe(false);

    const run = await connector.actions.revoke!.run(request(id));
    expect(run).toEqual({
      changed: true,
      detail: expect.objectContaining({ secretFingerprint: fingerprint(secret), state: 'resolved' }),
    });
    expect(contract.fake.revokedCredentials).toContain(secret);
    const submission = contract.fake.requests.find((r) => r.path === '/credentials/revoke');
    expect(submission).toMatchObject({ authenticated: false, body: { credentials: [secret] } });
    expect(contract.fake.alert('acme', repo, number)).toMatchObject({
      state: 'resolved',
      resolution: 'revoked',
      resolution_comment: expect.stringContaining('case-a'),
    });
    expect(await connector.verify(id, 'revoke', 'case-a')).toBe(true);

    const submitted = contract.fake.revokedCredentials.length;
    expect(await connector.actions.revoke!.run(request(id))).toMatchObject({
      changed: false,
      detail: { already: true },
    });
    expect(contract.fake.revokedCredentials).toHaveLength(submitted);
    const after = await connector.snapshot(id);
    expect(after).toMatchObject({ state: 'resolved', resolution: 'revoked', observed: { validity: 'inactive' } });
    for (const text of [JSON.stringify([before, run, after]), await captured()]) expect(text).not.toContain(secret);
  });

  it('a retry after the resolve failed does not submit the token again', async () => {
    const { secret, repo, number, id } = leak();
    contract.fake.injected.push({ pathPrefix: `/repos/acme/${repo}/`, method: 'PATCH', status: 502 });
    const err = await failure(connector.actions.revoke!.run(request(id, 'case-retry')));
    expect(err).toMatchObject({ type: 'GitHubUnavailable', nonRetryable: false });
    expect(contract.fake.revokedCredentials.filter((c) => c === secret)).toHaveLength(1);

    expect((await connector.actions.revoke!.run(request(id, 'case-retry'))).changed).toBe(true);
    expect(contract.fake.revokedCredentials.filter((c) => c === secret)).toHaveLength(1);
    expect(contract.fake.alert('acme', repo, number)).toMatchObject({ state: 'resolved', resolution: 'revoked' });
  });

  it('a secret the credentials API cannot revoke fails for good and says a human must act', async () => {
    const { secret, repo, number, id } = leak(
      `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
      'aws_access_key_id',
    );
    const err = await failure(connector.actions.revoke!.run(request(id)));
    expect(err).toMatchObject({ type: 'GitHubUnrevocable', nonRetryable: true });
    expect(err.message).toContain('a human must revoke it');
    expect(err.message).not.toContain(secret);
    expect(contract.fake.revokedCredentials).not.toContain(secret);
    expect(contract.fake.alert('acme', repo, number)).toMatchObject({ state: 'open' });
  });

  it('revoke of a fine-grained PAT: the organization no longer lists the grant; a repeat changes nothing', async () => {
    // More grants than one page holds: the connector pages through GitHub's list.
    for (let i = 0; i < 120; i++) contract.fake.addGrant('acme', `ci-${i}`);
    const patId = contract.fake.addGrant('acme', 'deploy-bot');
    const id = `acme/personal-access-tokens/${patId}`;
    expect(await connector.snapshot(id)).toMatchObject({ granted: true, tokenName: 'deploy-bot', owner: 'octocat' });
    expect(await connector.verify(id, 'revoke', 'case-a')).toBe(false);

    expect(await connector.actions.revoke!.run(request(id))).toMatchObject({
      changed: true,
      detail: { tokenName: 'deploy-bot', granted: false },
    });
    expect(contract.fake.grants.get('acme')!.some((g) => g.id === patId)).toBe(false);
    expect(contract.fake.grants.get('acme')).toHaveLength(120);
    expect(await connector.verify(id, 'revoke', 'case-a')).toBe(true);
    expect(await connector.actions.revoke!.run(request(id))).toMatchObject({
      changed: false,
      detail: { already: true },
    });
    // An id the organization never listed is a mistake, not a contained token.
    const never = `acme/personal-access-tokens/${patId + 10_000}`;
    expect(await failure(connector.actions.revoke!.run(request(never)))).toMatchObject({
      type: GitHubFailure.UnknownIdentity,
      nonRetryable: true,
    });
  });

  it('the contract server refuses a request or a response that breaks GitHub’s description', async () => {
    const { repo, number, id } = leak();
    const seen = contract.fake.requests.length;
    const patch = await fetch(`${contract.url}/repos/acme/${repo}/secret-scanning/alerts/${number}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'closed' }),
    });
    expect(patch.status).toBe(422);
    expect(JSON.stringify(await patch.json())).toContain('open, resolved');
    const empty = await fetch(`${contract.url}/credentials/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ credentials: [] }),
    });
    expect(empty.status).toBe(422);
    expect(contract.fake.requests).toHaveLength(seen); // neither reached the fake

    // An answer GitHub would never give (a state outside the schema's enum) is not passed on.
    const broken = { ...contract.fake.alert('acme', repo, number), state: 'closed' };
    contract.fake.injected.push({ pathPrefix: `/repos/acme/${repo}/`, status: 200, body: broken });
    const alertUrl = `${contract.url}/repos/acme/${repo}/secret-scanning/alerts/${number}`;
    contract.fake.injected.push({ pathPrefix: `/repos/acme/${repo}/`, status: 200, body: broken });
    const refused = await fetch(alertUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(refused.status).toBe(500);
    expect(await refused.json()).toMatchObject({
      type: 'https://stoplight.io/prism/errors#VIOLATIONS',
      validation: [expect.objectContaining({ location: ['response', 'body', 'state'], code: 'enum' })],
    });
    contract.fake.injected.push({ pathPrefix: `/repos/acme/${repo}/`, status: 200, body: broken });
    const err = await failure(connector.snapshot(id));
    expect(err).toMatchObject({ type: 'GitHubUnavailable', nonRetryable: false });
    expect(err.message).toMatch(/answered 500/);
  });

  it('maps errors: unknown identities and missing permissions are permanent; rate limits wait for the reset', async () => {
    const unknown = await failure(connector.snapshot('acme/nowhere/secret-scanning/9999'));
    expect(unknown).toMatchObject({ type: 'GitHubUnknownIdentity', nonRetryable: true });
    expect((await failure(connector.snapshot('acme/personal-access-tokens/x'))).nonRetryable).toBe(true);
    expect(await failure(connector.snapshot('nobody/personal-access-tokens/1'))).toMatchObject({
      type: 'GitHubUnknownIdentity',
      nonRetryable: true,
    });

    const { secret, repo, id } = leak();
    const wrongToken = `ghs_${randomBytes(18).toString('hex')}`;
    const denied = await failure(createGitHubConnector(h.db, { ...settings(), token: wrongToken }).snapshot(id));
    expect(denied).toMatchObject({ type: 'GitHubPermissionDenied', nonRetryable: true });
    expect(denied.message).toMatch(/401/);
    expect(denied.message).not.toContain(wrongToken);
    contract.fake.injected.push({ pathPrefix: `/repos/acme/${repo}/`, method: 'PATCH', status: 403, body: forbidden });
    expect(await failure(connector.actions.revoke!.run(request(id)))).toMatchObject({
      type: 'GitHubPermissionDenied',
      nonRetryable: true,
    });

    // GitHub's primary limit: 403 with x-ratelimit-remaining 0 and the reset time. The answer
    // here even repeats the token, as a careless proxy might: the error carries its fingerprint.
    const reset = Math.floor(Date.now() / 1000) + 120;
    contract.fake.injected.push({
      pathPrefix: '/credentials/revoke',
      status: 403,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      body: { message: `API rate limit exceeded while revoking ${secret}` },
    });
    const limited = await failure(connector.actions.revoke!.run(request(id, 'case-limited')));
    expect(limited).toMatchObject({ type: 'GitHubUnavailable', nonRetryable: false });
    expect(Number(limited.nextRetryDelay)).toBeGreaterThan(60_000);
    expect(limited.message).not.toContain(secret);
    expect(limited.message).toContain(fingerprint(secret));
    // The secondary limit: 429 with retry-after.
    contract.fake.injected.push({ pathPrefix: `/repos/acme/${repo}/`, status: 429, headers: { 'retry-after': '30' } });
    expect(await failure(connector.snapshot(id))).toMatchObject({ nonRetryable: false, nextRetryDelay: 30_000 });

    const down = createGitHubConnector(h.db, { ...settings(), apiUrl: `http://127.0.0.1:${await freePort()}` });
    const unreachable = await failure(down.actions.revoke!.run(request(id)));
    expect(unreachable).toMatchObject({ type: 'GitHubUnavailable', nonRetryable: false });
    expect(unreachable.message).not.toContain(TOKEN);
  });
});

const forbidden = {
  message: 'Resource not accessible by integration',
  documentation_url: 'https://docs.github.com/rest',
};

describe('containment workflow on GitHub', () => {
  it('the bundled secret scanning alert, posted to the intake, ends with the token revoked once two approvers agree', async () => {
    const secret = leakedToken();
    contract.fake.addAlert({ owner: 'acme', repo: 'website', number: 42, secret });
    const intake = await startIntake(h.env.client, h.taskQueue, { sources: undefined, logger });
    try {
      const posted = await intake.post('/v1/alerts', example('github-secret-scanning.json'), {
        'x-github-event': 'secret_scanning_alert',
      });
      expect(posted).toMatchObject({
        status: 200,
        body: { workflowId: 'contain:github:acme/website/secret-scanning/42', disposition: 'started' },
      });
    } finally {
      await intake.close();
    }
    const handle = h.env.client.workflow.getHandle('contain:github:acme/website/secret-scanning/42');
    const requestId = await pendingRequestId(handle, 'revoke');
    expect(contract.fake.revokedCredentials).not.toContain(secret);
    for (const approver of ['alice@example.com', 'bob@example.com'])
      await handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', requestId, approver, reason: 'a live token in a public repository' }],
      });
    const status = await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
    expect(status.applied.map((a) => [a.action, a.verified])).toEqual([['revoke', true]]);
    expect(contract.fake.revokedCredentials).toContain(secret);
    expect(contract.fake.alert('acme', 'website', 42)).toMatchObject({
      state: 'resolved',
      resolution: 'revoked',
      resolution_comment: expect.stringContaining('Cordon'),
    });
    const audit = JSON.stringify(await handle.query(auditQuery));
    expect(audit).toContain(fingerprint(secret));
    for (const text of [audit, await decodedHistoryText(handle), logText(), await captured()])
      expect(text).not.toContain(secret);
  });
});
