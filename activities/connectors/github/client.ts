import { ApplicationFailure } from '@temporalio/activity';
import { errorText } from '../../../src/domain/errors';
import { redactText } from '../../../src/secrets/redact';
import type { ConnectorSettings } from '../types';

export type GitHubSettings = NonNullable<ConnectorSettings['github']>;

/** Names of the failures the connector raises (the `type` of its ApplicationFailures). */
export const GitHubFailure = {
  /** Network errors, 5xx, rate limits: Temporal retries (after GitHub's reset time, when it gives one). */
  Unavailable: 'GitHubUnavailable',
  /** 401, or a 403 that is not a rate limit: the connector's token lacks a permission. */
  PermissionDenied: 'GitHubPermissionDenied',
  /** 404: no such alert, token grant, repository or organization (or no access to it). */
  UnknownIdentity: 'GitHubUnknownIdentity',
  /** GitHub refused the request as invalid (400, 409, 422). */
  Rejected: 'GitHubRequestRejected',
  /** A leaked secret the credentials API cannot revoke, or an alert that does not show it: a human must act. */
  Unrevocable: 'GitHubUnrevocable',
} as const;

const TIMEOUT_MS = 10_000;
// GitHub's primary limits reset within the hour; a longer wait would outlive any approval.
const MAX_RATE_LIMIT_WAIT_MS = 60 * 60 * 1000;

/** One request: `anonymous` sends no Authorization header; `allow` lists statuses returned, not thrown. */
export interface GitHubRequest {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  body?: unknown;
  anonymous?: boolean;
  allow?: number[];
  /** Values that must never appear in an error (the leaked token being revoked). */
  secrets?: string[];
}

/** A response the caller handles itself, or a successful one. */
export interface GitHubResponse<T> {
  status: number;
  body: T | undefined;
  headers: Headers;
}

/** Thin REST client over fetch. Never logs, returns or reports its token or a request body. */
export class GitHubClient {
  private readonly base: string;

  constructor(private readonly settings: GitHubSettings) {
    this.base = settings.apiUrl.replace(/\/+$/, '');
  }

  /** One call; 2xx (and `allow`ed statuses) are returned, anything else throws a classified failure. */
  async call<T = any>(request: GitHubRequest): Promise<GitHubResponse<T>> {
    const where = `${request.method} ${request.path.split('?')[0]}`;
    let res: Response;
    try {
      res = await fetch(this.base + request.path, {
        method: request.method,
        headers: this.headers(request),
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw ApplicationFailure.create({
        type: GitHubFailure.Unavailable,
        message: `GitHub API at ${new URL(this.base).origin} unreachable (${where}): ${errorText(err)}`,
        nonRetryable: false,
      });
    }
    const text = await res.text();
    const body = parseJson(text);
    if (res.ok || request.allow?.includes(res.status))
      return { status: res.status, body: body as T, headers: res.headers };
    const said = typeof body?.message === 'string' ? body.message : text.slice(0, 200);
    const reason = redactText(said.replace(/\s+/g, ' ').trim(), new Set(request.secrets ?? []));
    throw failureFor(res.status, res.headers, `GitHub ${where} answered ${res.status}${reason ? `: ${reason}` : ''}`);
  }

  private headers(request: GitHubRequest): Record<string, string> {
    return {
      Accept: 'application/vnd.github+json',
      'X-GitHub-Api-Version': '2022-11-28',
      'User-Agent': 'cordon',
      ...(request.anonymous ? {} : { Authorization: `Bearer ${this.settings.token}` }),
      ...(request.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    };
  }
}

function parseJson(text: string): any {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * GitHub's documented rate limits: 429, or 403 with `x-ratelimit-remaining: 0` (primary) or a
 * `retry-after` header (secondary). The wait it asks for, in ms; undefined when not a rate limit.
 */
export function rateLimitWait(status: number, headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = Number(headers.get('retry-after'));
  const reset = Number(headers.get('x-ratelimit-reset'));
  const exhausted = headers.get('x-ratelimit-remaining') === '0';
  if (status !== 429 && !(status === 403 && (exhausted || headers.has('retry-after')))) return undefined;
  // Without a hint, GitHub's guidance is to wait at least a minute.
  const wait = retryAfter > 0 ? retryAfter * 1000 : exhausted && reset > 0 ? reset * 1000 - now : 60_000;
  return Math.min(Math.max(wait, 1000), MAX_RATE_LIMIT_WAIT_MS);
}

/** Maps a failed response to a retryable or permanent ApplicationFailure. */
function failureFor(status: number, headers: Headers, message: string): ApplicationFailure {
  const wait = rateLimitWait(status, headers);
  if (wait !== undefined || status >= 500) {
    return ApplicationFailure.create({
      type: GitHubFailure.Unavailable,
      message: wait === undefined ? message : `${message} (rate limited; retry in ${Math.ceil(wait / 1000)} s)`,
      nonRetryable: false,
      ...(wait === undefined ? {} : { nextRetryDelay: wait }),
    });
  }
  if (status === 401 || status === 403) {
    return ApplicationFailure.create({
      type: GitHubFailure.PermissionDenied,
      message: `${message} (the connector's token lacks a permission; README "Connectors", GitHub)`,
      nonRetryable: true,
    });
  }
  return ApplicationFailure.create({
    type: status === 404 ? GitHubFailure.UnknownIdentity : GitHubFailure.Rejected,
    message,
    nonRetryable: true,
  });
}

/** Percent-encodes one path segment (an owner, a repository, an organization). */
export const seg = (value: string) => encodeURIComponent(value);
