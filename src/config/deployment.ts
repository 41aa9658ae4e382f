// How one process joins a deployment: its connection to an external Temporal (TLS, mTLS, a bearer
// token) and the role it plays. Checked at start-up, so a missing or wrong file stops the process
// with the variable named instead of failing at the first call.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Config } from '.';

type Problem = { variable: string; problem: string };

/** The settings these checks read. */
export type DeploymentSettings = Pick<
  Config,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_TLS'
  | 'TEMPORAL_TLS_CA_FILE'
  | 'TEMPORAL_TLS_CERT_FILE'
  | 'TEMPORAL_TLS_KEY_FILE'
  | 'TEMPORAL_TLS_SERVER_NAME'
  | 'TEMPORAL_API_KEY_FILE'
  | 'CORDON_ROLE'
  | 'DATABASE_URL'
  | 'CORDON_PAYLOAD_KEYS'
  | 'CORDON_PAYLOAD_KEYS_FILE'
  | 'CORDON_AUDIT_SIGNING_KEY_FILE'
>;

const TLS_SETTINGS = [
  'TEMPORAL_TLS_CA_FILE',
  'TEMPORAL_TLS_CERT_FILE',
  'TEMPORAL_TLS_KEY_FILE',
  'TEMPORAL_TLS_SERVER_NAME',
] as const;

/** Whether the connection to Temporal uses TLS: asked for, or implied by a TLS setting or a bearer token. */
export function usesTls(settings: DeploymentSettings): boolean {
  if (settings.TEMPORAL_TLS !== undefined) return settings.TEMPORAL_TLS;
  return TLS_SETTINGS.some((name) => settings[name] !== undefined) || settings.TEMPORAL_API_KEY_FILE !== undefined;
}

function readFile(file: string): { bytes: Buffer } | { problem: string } {
  try {
    if (!statSync(file).isFile()) return { problem: `${file} is not a file` };
    return { bytes: readFileSync(file) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? `${file} does not exist` : `cannot read ${file} (${code ?? 'error'})` };
  }
}

/** A PEM file's bytes, or why it is not the certificate or private key it should be (never its content). */
export function readPemFile(file: string, kind: 'certificate' | 'private key'): { pem: Buffer } | { problem: string } {
  const read = readFile(file);
  if ('problem' in read) return read;
  try {
    if (kind === 'certificate') new X509Certificate(read.bytes);
    else createPrivateKey(read.bytes);
    return { pem: read.bytes };
  } catch {
    return { problem: `${file} does not hold a PEM ${kind}` };
  }
}

/** The bearer token in an API key file, or why it cannot be one (never its content). */
export function readApiKeyFile(file: string): { key: string } | { problem: string } {
  const read = readFile(file);
  if ('problem' in read) return read;
  const key = read.bytes.toString('utf8').trim();
  if (!key) return { problem: `${file} is empty` };
  if (/^bearer\s/i.test(key)) return { problem: `${file} must hold the token alone, without "Bearer "` };
  if (/\s/.test(key)) return { problem: `${file} must hold one token (it has whitespace inside)` };
  return { key };
}

// The client certificate and its key come as a pair, and the key must be the certificate's.
function certificatePairProblems(cert?: string, key?: string): Problem[] {
  if (!cert !== !key) {
    const [given, missing] = cert ? ['CERT', 'KEY'] : ['KEY', 'CERT'];
    return [{ variable: `TEMPORAL_TLS_${missing}_FILE`, problem: `is required with TEMPORAL_TLS_${given}_FILE` }];
  }
  if (!cert || !key) return [];
  const certificate = readPemFile(cert, 'certificate');
  const privateKey = readPemFile(key, 'private key');
  const problems: Problem[] = [];
  if ('problem' in certificate) problems.push({ variable: 'TEMPORAL_TLS_CERT_FILE', problem: certificate.problem });
  if ('problem' in privateKey) problems.push({ variable: 'TEMPORAL_TLS_KEY_FILE', problem: privateKey.problem });
  if ('pem' in certificate && 'pem' in privateKey) {
    if (!new X509Certificate(certificate.pem).checkPrivateKey(createPrivateKey(privateKey.pem)))
      problems.push({ variable: 'TEMPORAL_TLS_KEY_FILE', problem: `is not the key of ${cert}'s certificate` });
  }
  return problems;
}

function fileProblems(settings: DeploymentSettings): Problem[] {
  const problems = certificatePairProblems(settings.TEMPORAL_TLS_CERT_FILE, settings.TEMPORAL_TLS_KEY_FILE);
  const ca = settings.TEMPORAL_TLS_CA_FILE && readPemFile(settings.TEMPORAL_TLS_CA_FILE, 'certificate');
  if (ca && 'problem' in ca) problems.push({ variable: 'TEMPORAL_TLS_CA_FILE', problem: ca.problem });
  const apiKey = settings.TEMPORAL_API_KEY_FILE && readApiKeyFile(settings.TEMPORAL_API_KEY_FILE);
  if (apiKey && 'problem' in apiKey) problems.push({ variable: 'TEMPORAL_API_KEY_FILE', problem: apiKey.problem });
  return problems;
}

// The embedded dev server is plain loopback: TLS and tokens are for an external Temporal only.
function connectionProblems(settings: DeploymentSettings): Problem[] {
  const given: string[] = [...TLS_SETTINGS, 'TEMPORAL_API_KEY_FILE' as const].filter((name) => settings[name]);
  if (settings.TEMPORAL_TLS) given.unshift('TEMPORAL_TLS');
  if (!settings.TEMPORAL_ADDRESS && given.length)
    return given.map((variable) => ({
      variable,
      problem: 'needs TEMPORAL_ADDRESS: the embedded dev server takes plain loopback connections only',
    }));
  if (settings.TEMPORAL_TLS === false) {
    const tls = TLS_SETTINGS.filter((name) => settings[name] !== undefined);
    if (tls.length) return [{ variable: 'TEMPORAL_TLS', problem: `is false, but ${tls.join(', ')} is set` }];
  }
  return fileProblems(settings);
}

// Workers and intakes in separate processes share one namespace, one audit store and the keys:
// the embedded ones, and keys made in each data dir, would belong to one process each.
function roleProblems(settings: DeploymentSettings): Problem[] {
  if (settings.CORDON_ROLE === 'both') return [];
  const why = `is required with CORDON_ROLE=${settings.CORDON_ROLE}: workers and intakes in separate processes share it`;
  const problems: Problem[] = (['TEMPORAL_ADDRESS', 'DATABASE_URL', 'CORDON_AUDIT_SIGNING_KEY_FILE'] as const)
    .filter((variable) => !settings[variable])
    .map((variable) => ({ variable, problem: why }));
  if (!settings.CORDON_PAYLOAD_KEYS && !settings.CORDON_PAYLOAD_KEYS_FILE)
    problems.push({ variable: 'CORDON_PAYLOAD_KEYS_FILE', problem: `(or CORDON_PAYLOAD_KEYS) ${why}` });
  return problems;
}

/** Everything wrong with how this process would connect and what it would run. */
export function deploymentProblems(settings: DeploymentSettings): Problem[] {
  return [...roleProblems(settings), ...connectionProblems(settings)];
}
