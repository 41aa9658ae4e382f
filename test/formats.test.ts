import { describe, expect, it } from 'vitest';
import { formatNamed, normalizeAlert, type AdapterContext, type Normalized } from '../src/alerts/formats';
import { InventorySchema } from '../src/inventory/schema';
import { example, FORMAT_CASES, setPath } from './support/formats';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const GITHUB_EVENT = { 'x-github-event': 'secret_scanning_alert' };

function normalize(payload: unknown, format?: string, context: Partial<AdapterContext> = {}): Normalized {
  return normalizeAlert(
    payload,
    { rawDigest: DIGEST, ...context, headers: context.headers ?? {} },
    format ? formatNamed(format) : undefined,
  );
}
function alertOf(result: Normalized) {
  if (result.outcome !== 'alert') throw new Error(`expected an alert, got ${JSON.stringify(result)}`);
  return result.alert;
}

describe('format detection', () => {
  it.each(FORMAT_CASES)('detects $file as $format', ({ file, format, headers }) => {
    expect(normalize(example(file), undefined, { headers }).format).toBe(format);
  });

  it('blames the field that kept a payload from being recognised, not the native fields it then lacked', () => {
    const blamed = (payload: Record<string, unknown>) => {
      const result = normalize(payload);
      return result.outcome === 'invalid' ? [result.format, result.problems.map((p) => p.field)] : result.outcome;
    };
    expect(blamed({ ...example('ocsf-detection-finding.json'), class_uid: undefined })).toEqual([
      'ocsf',
      ['class_uid'],
    ]);
    expect(blamed({ ...example('falco-k8s-audit.json'), output_fields: undefined })).toEqual([
      'falco',
      ['output_fields'],
    ]);
    const { Resource: _, ...noResource } = example('guardduty-finding.json') as Record<string, unknown>;
    expect(blamed(noResource)).toEqual(['guardduty', ['resource']]);
    // A body that resembles no format is judged as native, field by field.
    expect(blamed({ id: 'x', kind: 'nonsense' })).toEqual(['native', expect.arrayContaining(['kind', 'severity'])]);
  });

  it('refuses a body that is not a JSON object, naming the root', () => {
    for (const payload of [[], 'alert', 42, null]) {
      expect(normalize(payload)).toEqual({
        outcome: 'invalid',
        format: 'unknown',
        problems: [{ field: '(root)', message: 'must be a JSON object' }],
      });
    }
  });
});

describe.each(FORMAT_CASES)('$file rejections', ({ file, format, headers, required }) => {
  it.each(required)('refuses a payload without %s, naming it', (path) => {
    const result = normalize(setPath(example(file), path, undefined), format, { headers });
    expect(result.outcome).toBe('invalid');
    expect(result.outcome === 'invalid' && result.problems.map((p) => p.field)).toContain(path);
  });
});

describe('native', () => {
  it('passes the alert through; an authenticated source replaces the claimed one, which is kept', () => {
    const payload = example('secret-leak.json');
    expect(alertOf(normalize(payload, 'native')).source).toBe('github-secret-scanning');
    const attributed = alertOf(normalize(payload, 'native', { source: 'siem' }));
    expect(attributed.source).toBe('siem');
    // Ids live in the source's namespace: another source cannot send this alert's id first.
    expect(attributed.id).toBe('siem:gh-secret-scanning-4711');
    expect(attributed.evidence).toMatchObject({ reportedSource: 'github-secret-scanning', repository: 'acme/website' });
    expect(JSON.stringify(attributed)).not.toContain('ghp_exampleLeakedValue123');
  });
});

describe('every format', () => {
  it('fingerprints every string below a secret-looking key, however deep', () => {
    const payload = {
      ...example('secret-leak.json'),
      evidence: { secret: { value: 'ghp_nested0123456789', parts: ['AKIA-part'] }, note: 'kept' },
    };
    const evidence = alertOf(normalize(payload)).evidence as Record<string, any>;
    expect(evidence.note).toBe('kept');
    expect(evidence.secret.value).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(evidence.secret.parts[0]).toMatch(/^sha256:/);
    expect(JSON.stringify(evidence)).not.toMatch(/ghp_nested|AKIA-part/);
  });

  it('refuses identity ids that are not printable, well-formed text (they become workflow ids)', () => {
    for (const id of ['svc\ud800x', 'svc\u0000x', 'svc\u001bx', 'svc x']) {
      const result = normalize({ ...example('secret-leak.json'), identity: { provider: 'simulated', id } });
      expect(result).toMatchObject({ outcome: 'invalid', problems: [{ field: 'identity.id' }] });
    }
    expect(
      alertOf(normalize({ ...example('secret-leak.json'), identity: { provider: 'simulated', id: 'svc-\u{1F510}' } }))
        .identity.id,
    ).toBe('svc-\u{1F510}');
  });
});

describe('OCSF Detection Finding', () => {
  it('maps every field Cordon reads', () => {
    expect(alertOf(normalize(example('ocsf-detection-finding.json'), 'ocsf', { source: 'siem' }))).toEqual({
      id: 'siem:ocsf:siem-finding-7f3b2c',
      source: 'siem',
      kind: 'anomalous_usage',
      severity: 'high',
      confidence: 0.92,
      identity: { provider: 'aws-iam', id: 'svc-deploy-bot' },
      observedAt: '2026-11-22T09:14:00.000Z',
      summary: 'Deploy key used from an unfamiliar network',
      evidence: {
        format: 'ocsf',
        rawDigest: DIGEST,
        product: 'Example SIEM',
        findingTypes: ['Unusual Key Usage'],
        principalAt: 'evidences[0].user',
        userUid: 'AIDAJQABLZS4A3QDU576Q',
        keyId: 'AKIAIOSFODNN7EXAMPLE',
        account: '123456789012',
        resources: [{ uid: 'arn:aws:s3:::acme-release-artifacts', type: 'AWS::S3::Bucket' }],
      },
    });
  });

  it.each([
    [0, 'medium'],
    [1, 'low'],
    [2, 'low'],
    [3, 'medium'],
    [4, 'high'],
    [5, 'critical'],
    [6, 'critical'],
    [99, 'medium'],
  ])('maps severity_id %i to %s', (id, severity) => {
    expect(alertOf(normalize({ ...example('ocsf-detection-finding.json'), severity_id: id }, 'ocsf')).severity).toBe(
      severity,
    );
  });

  it('takes confidence_score, else confidence_id, else the documented default', () => {
    const base = example('ocsf-detection-finding.json');
    delete base.confidence_score;
    expect([1, 2, 3, 0, 99].map((id) => alertOf(normalize({ ...base, confidence_id: id }, 'ocsf')).confidence)).toEqual(
      [0.3, 0.6, 0.9, 0.5, 0.5],
    );
    delete base.confidence_id;
    expect(alertOf(normalize(base, 'ocsf')).confidence).toBe(0.5);
  });

  it('finds the identity in actor.user without evidences, and falls back to uid without a name', () => {
    const finding = example('ocsf-detection-finding.json');
    delete finding.evidences;
    delete finding.actor.user.name;
    expect(alertOf(normalize(finding, 'ocsf')).identity).toEqual({ provider: 'aws-iam', id: 'AIDAJQABLZS4A3QDU576Q' });
  });

  it('takes the provider from the source over cloud.provider; with neither, the principal is unresolved', () => {
    const finding = example('ocsf-detection-finding.json');
    expect(alertOf(normalize(finding, 'ocsf', { provider: 'simulated' })).identity.provider).toBe('simulated');
    finding.cloud.provider = 'GCP';
    expect(alertOf(normalize(finding, 'ocsf')).identity).toEqual({ provider: 'unresolved', id: 'svc-deploy-bot' });
  });

  it('refuses a finding that names no principal anywhere, naming where it looked, and a wrong class', () => {
    const finding = example('ocsf-detection-finding.json');
    delete finding.evidences;
    delete finding.actor;
    expect(normalize(finding, 'ocsf')).toMatchObject({
      outcome: 'unusable',
      problems: [
        {
          field: 'evidences',
          message: expect.stringMatching(
            /names no principal: none of evidences\[\]\.user, .*actor\.user.*resources\[\]/,
          ),
        },
      ],
    });
    expect(normalize({ ...example('ocsf-detection-finding.json'), class_uid: 2003 }, 'ocsf')).toMatchObject({
      outcome: 'invalid',
      problems: [{ field: 'class_uid' }],
    });
  });

  it('reads the kind from finding types and title', () => {
    const finding = example('ocsf-detection-finding.json');
    const kindFor = (types: string[]) =>
      alertOf(normalize({ ...finding, finding_info: { ...finding.finding_info, types, title: '' } }, 'ocsf')).kind;
    expect(kindFor(['Leaked Secret'])).toBe('secret_leak');
    expect(kindFor(['Privilege Escalation'])).toBe('privilege_escalation');
    expect(kindFor(['Impossible Travel'])).toBe('impossible_travel');
    expect(kindFor(['Something new'])).toBe('anomalous_usage');
  });
});

describe('identity resolution through the inventory', () => {
  const ROLE_ARN = 'arn:aws:iam::123456789012:role/deploy';
  const inventory = InventorySchema.parse({
    identities: [
      { provider: 'aws-iam', id: 'svc-deploy-bot', class: 'long-lived', aliases: ['AIDAJQABLZS4A3QDU576Q'] },
      { provider: 'aws-iam', id: 'deploy', class: 'ephemeral', aliases: [ROLE_ARN] },
      { provider: 'openbao', id: 'ci-runner', class: 'ephemeral', aliases: ['ci@example.com'] },
      { provider: 'simulated', id: 'ci-runner', class: 'ephemeral' },
      { provider: 'kubernetes', id: 'ci/deploy', class: 'batch', aliases: ['system:serviceaccount:ci:deploy-bot'] },
    ],
  });
  const resolve = (payload: unknown, format?: string, context: Partial<AdapterContext> = {}) => {
    const result = normalize(payload, format, { inventory, ...context });
    if (result.outcome !== 'alert') throw new Error(`expected an alert, got ${JSON.stringify(result)}`);
    return { identity: result.alert.identity, resolution: result.resolution };
  };
  // A finding from a SIEM that names no cloud: only the principal, where `place` puts it.
  const finding = (place: Record<string, unknown>) => {
    const base = example('ocsf-detection-finding.json');
    delete base.cloud;
    delete base.evidences;
    delete base.actor;
    return { ...base, ...place };
  };

  it('resolves an OCSF principal without cloud.provider by an inventory alias to its provider and id', () => {
    const { identity, resolution } = resolve(finding({ actor: { user: { uid: 'AIDAJQABLZS4A3QDU576Q' } } }), 'ocsf');
    expect(identity).toEqual({ provider: 'aws-iam', id: 'svc-deploy-bot' });
    expect(resolution).toMatchObject({ kind: 'resolved', by: 'AIDAJQABLZS4A3QDU576Q' });
  });

  it.each([
    ['evidences[].actor.user', { evidences: [{ actor: { user: { name: 'x-unknown', uid: ROLE_ARN } } }] }],
    ['evidences[].process.user', { evidences: [{ process: { user: { uid: ROLE_ARN } } }] }],
    ['actor.process.user', { actor: { process: { user: { uid_alt: ROLE_ARN } } } }],
    ['resources[] of a role type', { resources: [{ type: 'AwsIamRole', uid: ROLE_ARN, role_id: 2 }] }],
  ])('reads the principal from %s', (_place, place) => {
    expect(resolve(finding(place), 'ocsf').identity).toEqual({ provider: 'aws-iam', id: 'deploy' });
  });

  it('prefers the most direct place: evidences[].user over actor.user, a user resource over a bucket', () => {
    const both = finding({
      evidences: [{ user: { uid: ROLE_ARN } }],
      actor: { user: { uid: 'AIDAJQABLZS4A3QDU576Q' } },
    });
    expect(resolve(both, 'ocsf').identity.id).toBe('deploy');
    const resources = finding({
      resources: [
        { type: 'AWS::S3::Bucket', uid: 'arn:aws:s3:::bucket' },
        { type: 'AWS::IAM::User', name: 'svc-deploy-bot' },
      ],
    });
    expect(resolve(resources, 'ocsf').identity).toEqual({ provider: 'aws-iam', id: 'svc-deploy-bot' });
  });

  it('leaves a principal no inventory identity knows unresolved, saying what to do', () => {
    const { identity, resolution } = resolve(finding({ actor: { user: { name: 'svc-nobody' } } }), 'ocsf');
    expect(identity).toEqual({ provider: 'unresolved', id: 'svc-nobody' });
    expect(resolution).toMatchObject({
      kind: 'unresolved',
      reason:
        'no identity system is known for principal svc-nobody: add it to the inventory with its provider (or as an alias of the identity it is)',
    });
  });

  it('refuses to guess between two identities: the principal stays unresolved and the reason names both', () => {
    const { identity, resolution } = resolve(finding({ actor: { user: { name: 'ci-runner' } } }), 'ocsf');
    expect(identity).toEqual({ provider: 'unresolved', id: 'ci-runner' });
    expect(resolution.kind === 'unresolved' && resolution.reason).toBe(
      'principal ci-runner is ambiguous: it names 2 identities in the inventory (openbao:ci-runner, simulated:ci-runner), and Cordon does not guess; keep the id or alias on one of them only',
    );
    // Two names of one user that point at two identities are just as ambiguous.
    const split = resolve(
      finding({ actor: { user: { name: 'svc-deploy-bot', email_addr: 'ci@example.com' } } }),
      'ocsf',
    );
    expect(split.resolution).toMatchObject({ kind: 'unresolved', reason: expect.stringContaining('is ambiguous') });
  });

  it('with an identity system named, looks there only: an alias of that system, never of another', () => {
    const aws = example('ocsf-detection-finding.json');
    aws.evidences[0].user = { name: ROLE_ARN };
    expect(resolve(aws, 'ocsf')).toMatchObject({
      identity: { provider: 'aws-iam', id: 'deploy' },
      resolution: { kind: 'named', alias: ROLE_ARN },
    });
    aws.evidences[0].user = { name: 'ci@example.com' };
    expect(resolve(aws, 'ocsf').resolution).toEqual({
      kind: 'named',
      identity: { provider: 'aws-iam', id: 'ci@example.com' },
    });
  });

  it('resolves a Falco service account listed under its username, and a native alert that says unresolved', () => {
    expect(resolve(example('falco-k8s-audit.json'), 'falco').identity).toEqual({
      provider: 'kubernetes',
      id: 'ci/deploy',
    });
    const native = { ...example('secret-leak.json'), identity: { provider: 'unresolved', id: ROLE_ARN } };
    expect(resolve(native).identity).toEqual({ provider: 'aws-iam', id: 'deploy' });
  });

  it('refuses an inventory where one alias names two identities, naming the field', () => {
    const parsed = InventorySchema.safeParse({
      identities: [
        { provider: 'aws-iam', id: 'a', class: 'batch', aliases: ['shared@example.com'] },
        { provider: 'openbao', id: 'b', class: 'batch', aliases: ['a', 'shared@example.com'] },
      ],
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['identities.1.aliases.0', '"a" already names aws-iam:a: an alias must name one identity only'],
      ['identities.1.aliases.1', '"shared@example.com" already names aws-iam:a: an alias must name one identity only'],
    ]);
    // Compared as resolution compares names: a fullwidth spelling is the same alias.
    const fullwidth = InventorySchema.safeParse({
      identities: [
        { provider: 'aws-iam', id: 'a', class: 'batch', aliases: ['deploy'] },
        { provider: 'openbao', id: 'b', class: 'batch', aliases: ['ｄｅｐｌｏｙ'] },
      ],
    });
    expect(fullwidth.error?.issues.map((i) => i.path.join('.'))).toEqual(['identities.1.aliases.0']);
  });
});

describe('GitHub secret_scanning_alert', () => {
  const payload = () => example('github-secret-scanning.json');
  const adapt = (
    p: Record<string, any>,
    headers: Record<string, string> = GITHUB_EVENT,
    context: Partial<AdapterContext> = {},
  ) => normalize(p, 'github', { headers, ...context });

  it('maps every field Cordon reads', () => {
    expect(alertOf(adapt(payload(), GITHUB_EVENT, { source: 'github-acme' }))).toEqual({
      id: 'github-acme:github:acme/website/secret-scanning/42:created',
      source: 'github-acme',
      kind: 'secret_leak',
      severity: 'critical',
      confidence: 0.95,
      identity: { provider: 'github', id: 'acme/website/secret-scanning/42' },
      observedAt: '2026-11-22T09:14:00Z',
      summary: 'GitHub Personal Access Token exposed in acme/website',
      evidence: {
        format: 'github',
        rawDigest: DIGEST,
        action: 'created',
        type: 'github_personal_access_token',
        validity: 'active',
        publiclyLeaked: false,
        pushProtectionBypassed: false,
        repository: 'acme/website',
        url: 'https://github.com/acme/website/security/secret-scanning/42',
        sender: 'github',
      },
    });
  });

  it.each([
    ['active', false, 'critical', 0.95],
    ['unknown', false, 'high', 0.8],
    [undefined, false, 'high', 0.8],
    ['inactive', false, 'high', 0.4],
    ['inactive', true, 'critical', 0.4],
  ])('validity %s, publicly leaked %s: severity %s, confidence %s', (validity, leaked, severity, confidence) => {
    const p = payload();
    setPath(p, 'alert.validity', validity);
    p.alert.publicly_leaked = leaked;
    expect(alertOf(adapt(p))).toMatchObject({ severity, confidence });
  });

  it('opens containment for exposure actions only, ignores the rest and pings', () => {
    for (const action of ['created', 'reopened', 'publicly_leaked', 'validated'])
      expect(adapt({ ...payload(), action }).outcome).toBe('alert');
    for (const action of ['resolved', 'assigned'])
      expect(adapt({ ...payload(), action })).toMatchObject({
        outcome: 'ignored',
        reason: `action ${action} opens no containment`,
      });
    // A real ping carries the hook's settings, no alert.
    const ping = {
      zen: 'Keep it logically awesome.',
      hook_id: 123456,
      hook: { type: 'Repository', events: ['secret_scanning_alert'] },
      repository: payload().repository,
    };
    expect(normalize(ping, undefined, { headers: { 'x-github-event': 'ping' } })).toMatchObject({
      outcome: 'ignored',
      format: 'github',
      reason: 'ping',
    });
    expect(adapt(payload(), { 'x-github-event': 'push' })).toMatchObject({
      outcome: 'unusable',
      problems: [{ field: 'X-GitHub-Event' }],
    });
  });

  it('never keeps a secret value, even in the REST shape that carries one', () => {
    const p = payload();
    p.alert.secret = 'ghp_thisIsTheLeakedTokenItself0123456789';
    expect(JSON.stringify(adapt(p))).not.toContain('ghp_thisIsTheLeakedTokenItself');
  });

  it("uses the source's provider when it has one", () => {
    expect(alertOf(adapt(payload(), GITHUB_EVENT, { provider: 'simulated' })).identity.provider).toBe('simulated');
  });
});

describe('GuardDuty finding', () => {
  it('maps a raw finding and its EventBridge envelope to the same alert', () => {
    const raw = alertOf(normalize(example('guardduty-finding.json'), 'guardduty'));
    expect(alertOf(normalize(example('guardduty-eventbridge.json'), 'guardduty'))).toEqual(raw);
    expect(raw).toEqual({
      id: 'guardduty:a2b4c6d8e0f21357a2b4c6d8e0f21357@2026-11-22T09:14:00.512Z',
      source: 'guardduty',
      kind: 'secret_leak',
      severity: 'high',
      confidence: 0.8,
      identity: { provider: 'aws-iam', id: 'svc-payments' },
      observedAt: '2026-11-22T09:14:00.512Z',
      summary: 'Credentials for instance role svc-payments used from a remote AWS account.',
      evidence: {
        format: 'guardduty',
        rawDigest: DIGEST,
        findingId: 'a2b4c6d8e0f21357a2b4c6d8e0f21357',
        type: 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS',
        account: '123456789012',
        region: 'eu-west-1',
        accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
        principalId: 'AROAJQABLZS4A3QDU576Q:i-0abcd1234ef567890',
        userType: 'AssumedRole',
        count: 3,
      },
    });
  });

  it('reads the camelCase of EventBridge and S3 exports and the PascalCase of the API alike, naming fields as sent', () => {
    const camel = example('guardduty-eventbridge.json').detail;
    expect(normalize(camel).format).toBe('guardduty');
    expect(alertOf(normalize(camel))).toEqual(alertOf(normalize(example('guardduty-finding.json'))));
    expect(normalize({ ...camel, severity: 'high' }, 'guardduty')).toMatchObject({
      outcome: 'invalid',
      problems: [{ field: 'severity' }],
    });
    expect(normalize({ ...example('guardduty-finding.json'), Severity: 'high' }, 'guardduty')).toMatchObject({
      outcome: 'invalid',
      problems: [{ field: 'Severity' }],
    });
    const envelope = example('guardduty-finding.json');
    expect(
      normalize({
        'detail-type': 'GuardDuty Finding',
        source: 'aws.guardduty',
        detail: { ...envelope, UpdatedAt: 'yesterday' },
      }),
    ).toMatchObject({
      outcome: 'invalid',
      problems: [{ field: 'detail.UpdatedAt' }],
    });
  });

  it.each([
    [1, 'low'],
    [3.9, 'low'],
    [4, 'medium'],
    [6.9, 'medium'],
    [7, 'high'],
    [8.9, 'high'],
    [9, 'critical'],
    [10, 'critical'],
  ])('maps Severity %s to %s', (score, severity) => {
    expect(alertOf(normalize({ ...example('guardduty-finding.json'), Severity: score }, 'guardduty')).severity).toBe(
      severity,
    );
  });

  it('scales Confidence (0-10) and maps finding types to kinds', () => {
    const finding = example('guardduty-finding.json');
    expect(alertOf(normalize({ ...finding, Confidence: 7.5 }, 'guardduty')).confidence).toBe(0.75);
    const kindOf = (Type: string) => alertOf(normalize({ ...finding, Type }, 'guardduty')).kind;
    expect(kindOf('PrivilegeEscalation:IAMUser/AnomalousBehavior')).toBe('privilege_escalation');
    expect(kindOf('CredentialAccess:IAMUser/AnomalousBehavior')).toBe('anomalous_usage');
    expect(kindOf('UnauthorizedAccess:IAMUser/TorIPCaller')).toBe('token_abuse');
    expect(kindOf('Stealth:IAMUser/CloudTrailLoggingDisabled')).toBe('policy_violation');
    expect(kindOf('Discovery:S3/MaliciousIPCaller.Custom')).toBe('token_abuse');
    expect(kindOf('Recon:IAMUser/UserPermissions')).toBe('anomalous_usage');
  });

  it('refuses findings about resources that are not IAM identities, and out-of-range numbers', () => {
    const finding = example('guardduty-finding.json');
    finding.Resource = { ResourceType: 'Instance', InstanceDetails: { InstanceId: 'i-0abcd1234ef567890' } };
    expect(normalize(finding, 'guardduty')).toMatchObject({
      outcome: 'unusable',
      problems: [{ field: 'resource.accessKeyDetails.userName' }],
    });
    expect(normalize({ ...example('guardduty-finding.json'), Severity: 11 }, 'guardduty')).toMatchObject({
      outcome: 'invalid',
      problems: [{ field: 'Severity' }],
    });
    expect(normalize({ ...example('guardduty-finding.json'), AccountId: '12345' }, 'guardduty')).toMatchObject({
      outcome: 'invalid',
      problems: [{ field: 'AccountId' }],
    });
    expect(
      normalize(
        { ...example('guardduty-eventbridge.json'), 'detail-type': 'EC2 Instance State-change Notification' },
        'guardduty',
      ),
    ).toMatchObject({
      outcome: 'invalid',
      problems: [{ field: 'detail-type' }],
    });
  });
});

describe('Falco JSON', () => {
  it('maps every field Cordon reads, keeping only identity-related output fields', () => {
    const event = example('falco-k8s-audit.json');
    event.output_fields['proc.cmdline'] = `curl -H "Authorization: Bearer sk-live-dontkeepme" ${'x'.repeat(10_000)}`;
    expect(alertOf(normalize(event, 'falco', { source: 'falco-prod' }))).toEqual({
      id: 'falco-prod:falco:4c1f0d3e-9a2b-4f6e-8d7c-1b2a3c4d5e6f',
      source: 'falco-prod',
      kind: 'token_abuse',
      severity: 'medium',
      confidence: 0.6,
      identity: { provider: 'kubernetes', id: 'ci/deploy-bot' },
      observedAt: '2026-11-22T09:14:00.123456789Z',
      summary: 'Falco rule "Service Account Reads Secret Outside Namespace" fired',
      evidence: {
        format: 'falco',
        rawDigest: DIGEST,
        rule: 'Service Account Reads Secret Outside Namespace',
        priority: 'warning',
        eventSource: 'k8s_audit',
        hostname: 'falco-7d9f8',
        tags: ['k8s', 'mitre_credential_access', 'NHI'],
        fields: {
          'ka.user.name': 'system:serviceaccount:ci:deploy-bot',
          'ka.target.namespace': 'prod',
          'ka.target.resource': 'secrets',
          'ka.target.name': 'payments-db',
          'ka.verb': 'get',
          'ka.useragent': 'kubectl/v1.30.2 (linux/amd64)',
          'ka.sourceips': ['10.42.3.17'],
        },
      },
    });
  });

  it.each([
    ['Emergency', 'critical'],
    ['ALERT', 'critical'],
    ['Critical', 'critical'],
    ['Error', 'high'],
    ['Warning', 'medium'],
    ['Notice', 'low'],
    ['Informational', 'low'],
    ['Debug', 'low'],
  ])('maps priority %s to %s', (priority, severity) => {
    expect(alertOf(normalize({ ...example('falco-k8s-audit.json'), priority }, 'falco')).severity).toBe(severity);
  });

  it('reads kinds from MITRE tags, ids events without uuid by digest, and refuses non-service-account users', () => {
    const event = example('falco-k8s-audit.json');
    expect(alertOf(normalize({ ...event, tags: ['mitre_privilege_escalation'] }, 'falco')).kind).toBe(
      'privilege_escalation',
    );
    expect(alertOf(normalize({ ...event, tags: [] }, 'falco')).kind).toBe('policy_violation');
    delete event.uuid;
    expect(alertOf(normalize(event, 'falco')).id).toBe(`falco:${DIGEST}`);
    event.output_fields['ka.user.name'] = 'alice@example.com';
    expect(normalize(event, 'falco')).toMatchObject({
      outcome: 'unusable',
      problems: [{ field: 'output_fields.ka.user.name' }],
    });
    expect(normalize({ ...event, priority: 'Loud' }, 'falco')).toMatchObject({
      outcome: 'invalid',
      problems: [{ field: 'priority' }],
    });
  });
});
