import { ApplicationFailure } from '@temporalio/activity';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ConnectorSettings } from '../types';

export type AwsSettings = NonNullable<ConnectorSettings['aws']>;

/** Names of the failures this connector raises (the `type` of its ApplicationFailures). */
export const AwsIamFailure = {
  /** The user, role or key that must exist does not: permanent. */
  NotFound: 'AwsIamNotFound',
  /** AWS refused the call (access denied, invalid input, limits): permanent. */
  Rejected: 'AwsIamRejected',
  /** The identity id or action does not fit this connector: permanent. */
  Unsupported: 'AwsIamUnsupported',
  /** Network errors, throttling, 5xx: Temporal retries. */
  Transient: 'AwsIamTransient',
} as const;

/** The SDK clients, made on first use (a factory must not connect). */
export class AwsClients {
  private iamClient?: IAMClient;
  private smClient?: SecretsManagerClient;

  constructor(readonly settings: AwsSettings) {}

  private config() {
    const { region, endpoint, credentials } = this.settings;
    // The SDK retries transient errors briefly; Temporal's activity retries do the rest.
    return { region, endpoint, credentials, maxAttempts: 2 };
  }

  get iam(): IAMClient {
    return (this.iamClient ??= new IAMClient(this.config()));
  }

  get secrets(): SecretsManagerClient {
    return (this.smClient ??= new SecretsManagerClient(this.config()));
  }
}

interface AwsError {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const THROTTLING =
  /throttl|concurrentmodification|toomanyrequests|requestlimitexceeded|slowdown|serviceunavailable|internalfailure|internalerror/i;
const NOT_FOUND = /^(NoSuchEntity|ResourceNotFound)(Exception)?$/;

/** True when the SDK error is IAM's NoSuchEntity (or Secrets Manager's ResourceNotFound). */
export function isNotFound(err: unknown): boolean {
  return NOT_FOUND.test((err as AwsError)?.name ?? '');
}

/**
 * Maps an SDK error to an ApplicationFailure: permanent for what AWS refused (not found, access
 * denied, invalid input, limits), retryable for network errors, throttling and 5xx. The message
 * names the operation and the error, never a credential (AWS error messages carry none).
 */
export function toFailure(err: unknown, what: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = (err ?? {}) as AwsError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  const reason = `${name}${e.message && e.message !== name ? `: ${e.message}` : ''}`;
  if (status === undefined || status >= 500 || status === 429 || e.$retryable || THROTTLING.test(name)) {
    const cause =
      status === undefined
        ? `AWS unreachable (${e.code ?? name}${e.message ? `: ${e.message}` : ''})`
        : `${reason} (HTTP ${status})`;
    return ApplicationFailure.create({
      type: AwsIamFailure.Transient,
      message: `aws-iam: ${what} failed, will retry: ${cause}`,
      nonRetryable: false,
    });
  }
  return ApplicationFailure.create({
    type: isNotFound(err) ? AwsIamFailure.NotFound : AwsIamFailure.Rejected,
    message: `aws-iam: ${what} failed: ${reason} (HTTP ${status})`,
    nonRetryable: true,
  });
}

/** Runs one AWS call, mapping its errors; `what` describes it for the message. */
export async function aws<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toFailure(err, what);
  }
}

/** Like `aws`, but a NoSuchEntity answer is `undefined` (for "is it there?" reads and idempotent deletes). */
export async function awsOptional<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw toFailure(err, what);
  }
}

/** A post-condition that does not hold yet (IAM is eventually consistent): Temporal retries. */
export function notYet(message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: AwsIamFailure.Transient,
    message: `aws-iam: ${message}`,
    nonRetryable: false,
  });
}
