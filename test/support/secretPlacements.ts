// Where a forwarder can put a credential in an alert: each placement an attacker probe found
// reaching history in clear, with a fresh value per run so no test can pass on a stale string.
import { randomBytes } from 'node:crypto';

const alnum = (n: number) =>
  randomBytes(n * 2)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, n);
// Random text always holds both cases and digits here, as real keys of these lengths do.
const mixed = (n: number) => `Ab1${alnum(n - 3)}`;

/** One placement: the secret, and the part of a native alert that carries it. */
export interface SecretPlacement {
  name: string;
  secret: string;
  evidence?: Record<string, unknown>;
  summary?: string;
}

export function secretPlacements(): SecretPlacement[] {
  const word = () => `pw-${alnum(10)}`; // low entropy: only its key or its context gives it away
  const placements: Array<[string, (secret: string) => Omit<SecretPlacement, 'name' | 'secret'>, string]> = [
    ['under pwd', (s) => ({ evidence: { pwd: s } }), word()],
    ['under pass', (s) => ({ evidence: { pass: s } }), word()],
    ['under passphrase', (s) => ({ evidence: { passphrase: s } }), word()],
    ['under auth', (s) => ({ evidence: { auth: s } }), word()],
    ['under authorization', (s) => ({ evidence: { request: { authorization: s } } }), word()],
    ['under creds', (s) => ({ evidence: { creds: { user: 'ci', p: s } } }), word()],
    ['under sshKey', (s) => ({ evidence: { sshKey: s } }), word()],
    ['under pem', (s) => ({ evidence: { pem: s } }), word()],
    ['under cookie', (s) => ({ evidence: { headers: { cookie: s } } }), word()],
    ['under DB_PASSWORD', (s) => ({ evidence: { DB_PASSWORD: s } }), word()],
    ['nested value of a secret name', (s) => ({ evidence: { env: [{ name: 'API_TOKEN', value: s }] } }), word()],
    ['nested value key', (s) => ({ evidence: { secret: { value: s } } }), word()],
    ['in an array', (s) => ({ evidence: { tokens: ['a', s] } }), word()],
    ['connection string', (s) => ({ evidence: { dsn: `postgres://app:${s}@db.internal:5432/app` } }), word()],
    ['password= in free text', (s) => ({ evidence: { log: `login failed password=${s} for app` } }), word()],
    [
      'Bearer header in a command line',
      (s) => ({ evidence: { cmd: `curl -H 'Authorization: Bearer ${s}' x` } }),
      mixed(32),
    ],
    ['AWS secret key in an array', (s) => ({ evidence: { seen: ['ok', `key ${s}`] } }), mixed(40)],
    ['AWS secret key, unlabelled', (s) => ({ evidence: { note: `found ${s} in logs` } }), `${mixed(30)}/${mixed(9)}`],
    ['GitHub token in the summary', (s) => ({ summary: `Token ${s} pushed to acme/api` }), `ghp_${mixed(36)}`],
    ['fine-grained PAT as a key', (s) => ({ evidence: { [s]: 'seen' } }), `github_pat_${mixed(22)}_${mixed(59)}`],
    ['GitLab token', (s) => ({ evidence: { ci: { line: `export GL=${s}` } } }), `glpat-${mixed(20)}`],
    ['Slack bot token', (s) => ({ summary: `slack token ${s} leaked` }), `xoxb-1234567890-${mixed(24)}`],
    ['Slack webhook', (s) => ({ evidence: { hook: s } }), `https://hooks.slack.com/services/T0/B0/${mixed(24)}`],
    [
      'JWT',
      (s) => ({ evidence: { jwt_seen: s } }),
      `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ${alnum(20)}.${mixed(43).replace(/[+/]/g, '_')}`,
    ],
    [
      'private key block',
      (s) => ({ evidence: { file: { content: s } } }),
      `-----BEGIN OPENSSH PRIVATE KEY-----\n${mixed(64)}\n${mixed(64)}\n-----END OPENSSH PRIVATE KEY-----`,
    ],
  ];
  return placements.map(([name, place, secret]) => ({ name, secret, ...place(secret) }));
}
