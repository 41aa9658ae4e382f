// `cordon approve|deny|false-positive|pause|resume`. With a token (`--token`, or
// CORDON_APPROVER_TOKEN) a decision goes through the authenticated decision API and counts as the
// token's owner's; without one it is a claim in the name `--as` gives, which counts only where
// the policy's decisions mode is `claimed`.
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { loadConfig, type Config } from '../config';
import type { Control } from '../domain/decisions';
import { errorText } from '../domain/errors';
import { controlUpdate, decideUpdate } from '../../workflows/definitions';
import { UsageError } from './errors';
import { redactText } from '../secrets/redact';

/** How a decision is sent: over the authenticated API, or as a claim through Temporal. */
export type DecisionRun = { api: () => Promise<unknown> } | { claim: (client: Client) => Promise<unknown> };

/** Options every decision command takes. */
export interface DecisionOptions {
  as?: string;
  token?: string;
  reason?: string;
}

/** The token given, or the one in the environment. */
const tokenOf = (opts: DecisionOptions) => opts.token ?? process.env.CORDON_APPROVER_TOKEN;

// The local intake, unless CORDON_INTAKE_URL names another.
function intakeUrl(config: Config): string {
  if (config.CORDON_INTAKE_URL) return config.CORDON_INTAKE_URL.replace(/\/$/, '');
  const host = ['0.0.0.0', '::'].includes(config.CORDON_HTTP_HOST) ? '127.0.0.1' : config.CORDON_HTTP_HOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.CORDON_HTTP_PORT}`;
}

/** Posts to the authenticated API; a refusal (4xx) is a usage error naming the field and reason. */
export async function postAuthenticated(path: string, token: string, body: unknown): Promise<unknown> {
  const url = `${intakeUrl(loadConfig())}${path}`;
  const { protocol, hostname } = new URL(url);
  // A token crosses a network only encrypted.
  if (protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(hostname))
    throw new UsageError(`CORDON_INTAKE_URL must be https:// for a host other than this machine (${hostname})`);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new Error(`cannot reach the intake at ${url}: ${(err as Error).message}`);
  }
  const answer = (await res.json().catch(() => ({}))) as {
    error?: string;
    problems?: { field: string; message: string }[];
  };
  if (res.status >= 400 && res.status < 500) {
    const why = answer.problems?.map((p) => `${p.field}: ${p.message}`).join('; ') ?? answer.error;
    throw new UsageError(`refused (${res.status} ${answer.error ?? ''}): ${why}`);
  }
  if (!res.ok) throw new Error(`the intake answered ${res.status}: ${answer.error ?? ''}`);
  return answer;
}

// A claim's Update; its refusal is a usage error (the case already audited it).
async function claimUpdate<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new UsageError(`refused: ${errorText(err)}`);
    throw err;
  }
}

function claimant(opts: DecisionOptions): string {
  if (!opts.as)
    throw new UsageError('give --token (an approver token; or CORDON_APPROVER_TOKEN) or --as NAME (a claim)');
  return redactText(opts.as);
}

// What a person typed is kept in history, audit and notices: a pasted credential goes as its fingerprint.
const reasonOf = (opts: DecisionOptions) => opts.reason && redactText(opts.reason);

// With a token: the API route; without: the Update, as a claim in the name `--as` gives.
function decisionRun(
  workflowId: string,
  route: 'decisions' | 'controls',
  opts: DecisionOptions,
  body: Record<string, unknown>,
  claim: (handle: WorkflowHandle, name: string) => Promise<unknown>,
): DecisionRun {
  const token = tokenOf(opts);
  if (token)
    return { api: () => postAuthenticated(`/v1/cases/${encodeURIComponent(workflowId)}/${route}`, token, body) };
  const name = claimant(opts);
  return { claim: (client: Client) => claimUpdate(() => claim(client.workflow.getHandle(workflowId), name)) };
}

/** `approve|deny ID --request R [--digest D] (--token T | --as A)`. */
export function decide(
  workflowId: string,
  decision: 'approve' | 'deny',
  opts: DecisionOptions & { request: string; digest?: string },
): DecisionRun {
  const body = { requestId: opts.request, decision, reason: reasonOf(opts), actionDigest: opts.digest };
  return decisionRun(workflowId, 'decisions', opts, body, (handle, approver) =>
    handle.executeUpdate(decideUpdate, { args: [{ ...body, approver }] }),
  );
}

/** `false-positive|pause|resume ID (--token T | --as WHO)`. */
export function control(workflowId: string, what: Control, opts: DecisionOptions): DecisionRun {
  const body = { control: what, reason: reasonOf(opts) };
  return decisionRun(workflowId, 'controls', opts, body, (handle, by) =>
    handle.executeUpdate(controlUpdate, { args: [{ ...body, by }] }),
  );
}
