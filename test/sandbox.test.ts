// The sandbox quick start as a new user runs it: `npm start -- --sandbox`, then every bundled
// example posted to the intake. Each case acts on a real local identity system (moto, the
// Kubernetes API server, GitHub's contract server; simulated for the simulated examples) as far
// as its plan goes without a human, and the GitHub token is revoked once two approvers agree.
import { GetUserPolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESTRICT_POLICY } from '../activities/connectors/aws-iam/restrict';
import { dataConverterFor } from '../src/codec';
import { decideUpdate, type ContainmentStatus } from '../workflows/definitions';
import { listening, ROOT, startServiceProcess, type ServiceProcess, embeddedServiceEnv } from './support/processes';
import { pendingRequestId, waitForStatus } from './support/scenario';

const EXAMPLES = path.join(ROOT, 'examples', 'alerts');
const dir = mkdtempSync(path.join(tmpdir(), 'cordon-sandbox-'));
let service: ServiceProcess;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  const env = await embeddedServiceEnv(dir, 'info');
  // The README's command as typed; the Kubernetes API server takes a while on a busy machine.
  service = await startServiceProcess(env, { viaNpm: true, args: ['--sandbox'], startupMs: 300_000 });
  connection = await Connection.connect({ address: `127.0.0.1:${env.CORDON_DEV_SERVER_PORT}` });
  // The service encrypts payloads with the key it made in its data folder.
  client = new Client({ connection, dataConverter: dataConverterFor({ CORDON_DATA_DIR: dir }) });
}, 330_000);

afterAll(async () => {
  await connection?.close();
  if (service?.child.exitCode === null) service.child.kill('SIGTERM');
  await service?.exit;
  rmSync(dir, { recursive: true, force: true });
});

/** Where each local identity system answers, as the service said at start-up. */
function sandboxSystems(): Record<string, string> {
  const line = service
    .output()
    .split('\n')
    .find((l) => l.includes('sandbox: local identity systems'));
  expect(line, 'the start-up line naming the sandbox systems').toBeDefined();
  return JSON.parse(line!);
}

const caseOf = (workflowId: string) => client.workflow.getHandle(workflowId);
const slow = (handle: WorkflowHandle, check: (s: ContainmentStatus) => void) => waitForStatus(handle, check, 120_000);
const restrictVerified = (s: ContainmentStatus) =>
  expect(s.applied).toContainEqual(expect.objectContaining({ action: 'restrict', verified: true }));

describe('npm start -- --sandbox', () => {
  it('contains every bundled example against a real local identity system', async () => {
    const systems = sandboxSystems();
    expect(systems.kubernetes, 'the Kubernetes API server is built by setup --test-servers').toMatch(/^https:/);
    for (const file of readdirSync(EXAMPLES)) {
      const res = await fetch(`${service.http}/v1/alerts`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(file.startsWith('github') && { 'x-github-event': 'secret_scanning_alert' }),
        },
        body: readFileSync(path.join(EXAMPLES, file)),
      });
      const answer = (await res.json()) as { warnings?: { code: string }[] };
      expect(res.status, file).toBe(200);
      // Every example's identity system has a connector: none is left to a human for want of one.
      expect(answer.warnings?.map((w) => w.code) ?? [], file).not.toContain('no-connector');
    }

    // Kubernetes: the service account is out of its RoleBinding (checked by SubjectAccessReview).
    const kube = await slow(caseOf('contain:kubernetes:ci/deploy-bot'), (s) => {
      restrictVerified(s);
      expect(s.waitingFor).toBe('verify-window');
    });
    expect(kube.applied[0].detail).toMatchObject({ bindings: ['RoleBinding/ci/deploy-bot-deployer'] });

    // AWS (GuardDuty twice, OCSF): restricted at moto, revoke waits for approval.
    const iam = new IAMClient({
      region: 'us-east-1',
      endpoint: systems['aws-iam'],
      credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
    });
    for (const user of ['svc-payments', 'svc-deploy-bot']) {
      const handle = caseOf(`contain:aws-iam:${user}`);
      await slow(handle, restrictVerified);
      expect((await pendingRequestId(handle, 'revoke')).length).toBeGreaterThan(0);
      const policy = await iam.send(new GetUserPolicyCommand({ UserName: user, PolicyName: RESTRICT_POLICY }));
      expect(decodeURIComponent(policy.PolicyDocument!)).toContain('"Deny"');
    }

    // Simulated: the two native alerts joined one case, which restricted the identity.
    const simulated = await slow(caseOf('contain:simulated:svc-deploy-bot'), restrictVerified);
    expect(simulated.alerts.map((a) => a.id).sort()).toEqual(['gh-secret-scanning-4711', 'siem-rule-88-20261122-0931']);

    // GitHub: revoke needs two approvers; then the token is revoked and the alert resolved.
    const github = caseOf('contain:github:acme/website/secret-scanning/42');
    const requestId = await pendingRequestId(github, 'revoke');
    for (const approver of ['alice@example.com', 'bob@example.com'])
      await github.executeUpdate(decideUpdate, { args: [{ decision: 'approve', requestId, approver }] });
    const revoked = await slow(github, (s) => expect(s.outcome).toBe('contained'));
    expect(revoked.applied).toContainEqual(expect.objectContaining({ action: 'revoke', verified: true }));
  }, 600_000);

  it('stops every local identity system with the service (SIGTERM)', async () => {
    const systems = sandboxSystems();
    service.child.kill('SIGTERM');
    expect((await service.exit).code).toBe(0);
    for (const name of ['openbao', 'aws-iam', 'github', 'kubernetes']) {
      const url = new URL(systems[name].split(' ')[0]);
      expect(await listening(Number(url.port)), `${name} at ${url.origin}`).toBe(false);
    }
  });
});
