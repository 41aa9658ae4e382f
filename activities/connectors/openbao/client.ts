import { ApplicationFailure } from '@temporalio/activity';
import { errorText } from '../../../src/domain/errors';

/** How the OpenBao connector reaches the server: plain HTTP, `X-Vault-Token`, no client library. */
export interface OpenBaoSettings {
  address: string;
  token: string;
  kvMount: string;
}

/** Names of the failures the connector raises. */
export const OpenBaoFailure = {
  Unavailable: 'OpenBaoUnavailable',
  PermissionDenied: 'OpenBaoPermissionDenied',
  Rejected: 'OpenBaoRequestRejected',
  UnknownIdentity: 'OpenBaoUnknownIdentity',
  Conflict: 'OpenBaoConflict',
} as const;

const TIMEOUT_MS = 10_000;

/** A response the caller chose to handle itself (`allow`), or a successful one. */
export interface BaoResponse<T> {
  status: number;
  body: T | undefined;
}

/** Thin HTTP client for the OpenBao / Vault API. Never logs or returns the token. */
export class BaoClient {
  private readonly base: string;

  constructor(private readonly settings: OpenBaoSettings) {
    this.base = `${settings.address.replace(/\/+$/, '')}/v1/`;
  }

  get kvMount(): string {
    return this.settings.kvMount.replace(/^\/+|\/+$/g, '');
  }

  /**
   * One API call. 2xx answers (and statuses listed in `allow`) are returned; anything else throws
   * an ApplicationFailure: 5xx/429/network → retryable, other 4xx → non-retryable.
   */
  async call<T = any>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    allow: number[] = [],
  ): Promise<BaoResponse<T>> {
    const where = `${method} /v1/${path.split('?')[0]}`;
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: {
          'X-Vault-Token': this.settings.token,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      const reason = errorText(err);
      throw ApplicationFailure.create({
        type: OpenBaoFailure.Unavailable,
        message: `OpenBao at ${new URL(this.base).origin} unreachable (${where}): ${reason}`,
        nonRetryable: false,
      });
    }
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok || allow.includes(res.status)) return { status: res.status, body: parsed };
    const errors = Array.isArray(parsed?.errors)
      ? parsed.errors.join('; ').replace(/\s+/g, ' ').trim()
      : text.slice(0, 200);
    const message = `OpenBao ${where} answered ${res.status}${errors ? `: ${errors}` : ''}`;
    if (res.status >= 500 || res.status === 429 || res.status === 412) {
      // 412: a performance standby has not caught up yet; 503: sealed or standby.
      throw ApplicationFailure.create({ type: OpenBaoFailure.Unavailable, message, nonRetryable: false });
    }
    throw ApplicationFailure.create({
      type: res.status === 403 ? OpenBaoFailure.PermissionDenied : OpenBaoFailure.Rejected,
      message: res.status === 403 ? `${message} (the connector token lacks a capability on this path)` : message,
      nonRetryable: true,
    });
  }

  async get<T = any>(path: string, allow: number[] = []) {
    return (await this.call<T>('GET', path, undefined, allow)).body;
  }

  async post<T = any>(path: string, body: unknown, allow: number[] = []) {
    return (await this.call<T>('POST', path, body, allow)).body;
  }

  /** A LIST call (`?list=true`); an empty list when the server answers 404 (nothing there). */
  async list(path: string): Promise<string[]> {
    const res = await this.call<{ data?: { keys?: string[] } }>('GET', `${path}?list=true`, undefined, [404]);
    return res.status === 404 ? [] : (res.body?.data?.keys ?? []);
  }
}

/** Percent-encodes one path segment (a role name, an id). */
export const seg = (value: string) => encodeURIComponent(value);
