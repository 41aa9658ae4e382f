// The identities the bundled examples (examples/alerts/) name, made in the sandbox's identity
// systems so that every example contains against a real one.
import { CreateAccessKeyCommand, CreateUserCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { randomBytes } from 'node:crypto';
import { RBAC } from '../../activities/connectors/kubernetes/bindings';
import type { KubeClient } from '../../activities/connectors/kubernetes/client';
import { AwsClients, type AwsSettings } from '../../activities/connectors/aws-iam/client';
import type { GitHubFake } from './github/fake';

/** IAM users named by the GuardDuty and OCSF examples, each with a key and an inline grant. */
export const SANDBOX_IAM_USERS = ['svc-payments', 'svc-deploy-bot'];
/** The service account the Falco example names, and what its RoleBinding grants. */
export const SANDBOX_SERVICE_ACCOUNT = { namespace: 'ci', name: 'deploy-bot' };
/** The secret-scanning alert the GitHub example is about. */
export const SANDBOX_GITHUB_ALERT = { owner: 'acme', repo: 'website', number: 42 };

export async function seedAws(settings: AwsSettings): Promise<void> {
  const { iam } = new AwsClients(settings);
  for (const UserName of SANDBOX_IAM_USERS) {
    await iam.send(new CreateUserCommand({ UserName }));
    await iam.send(new CreateAccessKeyCommand({ UserName }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName,
        PolicyName: 'app-access',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: `arn:aws:s3:::${UserName}-data/*` }],
        }),
      }),
    );
  }
}

export async function seedKubernetes(admin: KubeClient): Promise<void> {
  const { namespace, name } = SANDBOX_SERVICE_ACCOUNT;
  const post = (path: string, body: unknown) => admin.call('POST', path, { body });
  await post('/api/v1/namespaces', { metadata: { name: namespace } });
  await post(`/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name } });
  await post(`${RBAC}/namespaces/${namespace}/roles`, {
    metadata: { name: 'deployer' },
    rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'patch'] }],
  });
  await post(`${RBAC}/namespaces/${namespace}/rolebindings`, {
    metadata: { name: 'deploy-bot-deployer' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  });
}

export function seedGitHub(fake: GitHubFake): void {
  // A made-up token of GitHub's shape: the credentials API accepts it, nothing else ever did.
  fake.addAlert({ ...SANDBOX_GITHUB_ALERT, secret: `ghp_${randomBytes(18).toString('hex')}` });
}
