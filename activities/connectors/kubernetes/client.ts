import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ApplicationFailure } from '@temporalio/activity';
import { errorText } from '../../../src/domain/errors';
import type { ConnectorSettings } from '../types';

export type KubeSettings = NonNullable<ConnectorSettings['kubernetes']>;

/** Names of the failures the connector raises (the `type` of its ApplicationFailures). */
export const KubeFailure = {
  /** Network errors, timeouts, 5xx, 429 and write conflicts (409): Temporal retries. */
  Unavailable: 'KubernetesUnavailable',
  /** Cordon's credential lacks an RBAC permission: permanent until someone grants it. */
  PermissionDenied: 'KubernetesPermissionDenied',
  /** The API server refused Cordon's credential (401). */
  Unauthenticated: 'KubernetesUnauthenticated',
  /** No such service account (or an id that cannot name one). */
  UnknownIdentity: 'KubernetesUnknownIdentity',
  /** Any other refusal (invalid input, a name taken by something that is not Cordon's). */
  Rejected: 'KubernetesRequestRejected',
} as const;

const TIMEOUT_MS = 15_000;

/** An answer the caller chose to handle itself (`allow`), or a successful one. */
export interface KubeResponse<T> {
  status: number;
  body: T | undefined;
}

/** How one call is made: its body, how that body patches (merge patch), which statuses it handles itself. */
export interface CallOptions {
  body?: unknown;
  mergePatch?: boolean;
  allow?: number[];
}

// "…: User "cordon" cannot update resource "rolebindings" in API group "rbac.authorization.k8s.io" …"
const FORBIDDEN = /cannot (\S+) resource "([^"]+)" in API group "([^"]*)"/;

/** The permission a 403 names, in the connector's own notation (`<resource>[.<group>]: <verb>`). */
function missingPermission(message: string): string | undefined {
  const found = FORBIDDEN.exec(message);
  if (!found) return undefined;
  const [, verb, resource, group] = found;
  return `${resource}${group ? `.${group}` : ''}: ${verb}`;
}

/** Maps a refused call to a Temporal failure: retryable only when waiting can help. */
export function failureFor(status: number, message: string, where: string): ApplicationFailure {
  const text = `Kubernetes ${where} answered ${status}${message ? `: ${message}` : ''}`;
  if (status >= 500 || status === 429 || status === 409) {
    return ApplicationFailure.create({ type: KubeFailure.Unavailable, message: text, nonRetryable: false });
  }
  if (status === 403) {
    const missing = missingPermission(message);
    return ApplicationFailure.create({
      type: KubeFailure.PermissionDenied,
      message: `${text} (Cordon's credential lacks ${missing ? `the permission "${missing}"` : 'a permission'}; see the README's ClusterRole)`,
      nonRetryable: true,
    });
  }
  return ApplicationFailure.create({
    type: status === 401 ? KubeFailure.Unauthenticated : KubeFailure.Rejected,
    message: status === 401 ? `${text} (the API server refused Cordon's credential)` : text,
    nonRetryable: true,
  });
}

/**
 * A thin JSON client for the Kubernetes API over node:https: the server's CA from a file, a bearer
 * token from the settings or a file (read on every call, as kubelet refreshes projected tokens).
 * Never logs, returns or puts the token in a message.
 */
export class KubeClient {
  private agent?: Promise<HttpAgent>;

  constructor(private readonly settings: KubeSettings) {}

  private get base(): URL {
    return new URL(this.settings.server);
  }

  private makeAgent(): Promise<HttpAgent> {
    return (this.agent ??= (async () => {
      if (this.base.protocol === 'http:') return new HttpAgent({ keepAlive: true });
      const ca = this.settings.caFile ? await readFile(this.settings.caFile) : undefined;
      return new HttpsAgent({ keepAlive: true, ca });
    })().catch((err) => {
      this.agent = undefined;
      throw err;
    }));
  }

  private async token(): Promise<string> {
    if (this.settings.token) return this.settings.token;
    return (await readFile(this.settings.tokenFile!, 'utf8')).trim();
  }

  /**
   * One API call. 2xx answers (and statuses in `allow`) come back; anything else throws an
   * ApplicationFailure (see `failureFor`); an unreachable server is retryable.
   */
  async call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<KubeResponse<T>> {
    const where = `${method} ${path.split('?')[0]}`;
    let credentials: [HttpAgent, string];
    try {
      credentials = await Promise.all([this.makeAgent(), this.token()]);
    } catch (err) {
      // Retryable: a projected token may not be written yet when the pod starts.
      throw ApplicationFailure.create({
        type: KubeFailure.Unavailable,
        message: `Cordon's Kubernetes token or CA file cannot be read: ${errorText(err)}`,
        nonRetryable: false,
      });
    }
    let answer: { status: number; text: string };
    try {
      answer = await this.send(method, path, options, ...credentials);
    } catch (err) {
      throw ApplicationFailure.create({
        type: KubeFailure.Unavailable,
        message: `Kubernetes API at ${this.base.origin} unreachable (${where}): ${errorText(err)}`,
        nonRetryable: false,
      });
    }
    let parsed: any;
    try {
      parsed = answer.text ? JSON.parse(answer.text) : undefined;
    } catch {
      parsed = undefined;
    }
    const { status } = answer;
    if ((status >= 200 && status < 300) || options.allow?.includes(status)) return { status, body: parsed };
    const message = typeof parsed?.message === 'string' ? parsed.message : answer.text.slice(0, 200);
    throw failureFor(status, message.replace(/\s+/g, ' ').trim(), where);
  }

  private send(
    method: string,
    path: string,
    options: CallOptions,
    agent: HttpAgent,
    token: string,
  ): Promise<{ status: number; text: string }> {
    // Appended, not resolved: a server URL may carry a path prefix (an API proxy's).
    const url = new URL(`${this.base.href.replace(/\/+$/, '')}${path}`);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent,
          timeout: TIMEOUT_MS,
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: 'application/json',
            // An explicit length: Node sends a DELETE's body unframed otherwise, and the server
            // reads it as the start of the next request on the kept-alive connection.
            ...(payload === undefined
              ? {}
              : {
                  'Content-Type': options.mergePatch ? 'application/merge-patch+json' : 'application/json',
                  'Content-Length': Buffer.byteLength(payload),
                }),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** GET; undefined when the object does not exist. */
  async find<T = any>(path: string): Promise<T | undefined> {
    const res = await this.call<T>('GET', path, { allow: [404] });
    return res.status === 404 ? undefined : res.body;
  }

  /** GET of a list; its items. */
  async list<T = any>(path: string): Promise<T[]> {
    return (await this.call<{ items?: T[] }>('GET', path)).body?.items ?? [];
  }
}
