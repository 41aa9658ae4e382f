// How the alert pipeline answers an alert that Temporal did not take, or that its case shed. The
// answers are plain values: the HTTP route sends them, `cordon alert send` reports them.
import { isGrpcServiceError } from '@temporalio/client';
import type { RejectReason } from './metrics';

/** An answer to one alert delivery, as the intake sends it over HTTP. */
export interface IntakeAnswer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** How long a forwarder should wait before retrying when Temporal did not take the alert. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;
// A case's alert rate is counted over a sliding minute.
const SHED_RETRY_AFTER_S = 60;

// gRPC status codes: worth retrying (the server is away or busy) or never going to succeed.
const TRANSIENT_CODES = new Set([
  4 /* DEADLINE_EXCEEDED */, 8 /* RESOURCE_EXHAUSTED */, 10 /* ABORTED */, 14 /* UNAVAILABLE */,
]);
const REFUSED_CODES = new Set([3 /* INVALID_ARGUMENT */, 9 /* FAILED_PRECONDITION */, 11 /* OUT_OF_RANGE */]);

/**
 * How to answer a failed handover: retry later (503), never (422), or our fault (500). `grpcCode`
 * is the gRPC status Temporal answered with, for the log: the forwarder only sees the HTTP status.
 */
export function handoverFailure(err: unknown): {
  status: 503 | 422 | 500;
  reason: RejectReason;
  grpcCode: number | null;
} {
  let code: number | undefined;
  for (let e: unknown = err; e && code === undefined; e = (e as { cause?: unknown }).cause) {
    if (isGrpcServiceError(e)) code = e.code;
  }
  const grpcCode = code ?? null;
  if (code === undefined || TRANSIENT_CODES.has(code)) return { status: 503, reason: 'temporal_unavailable', grpcCode };
  if (REFUSED_CODES.has(code)) return { status: 422, reason: 'refused_by_temporal', grpcCode };
  return { status: 500, reason: 'handover_failed', grpcCode };
}

/**
 * The answer for an alert not handed over; `ids` let a retry land on the same case. `unavailable`
 * says what was away when the answer is 503: Temporal, or the store its large evidence goes to.
 */
export function failedHandoverAnswer(
  status: 503 | 422 | 500,
  ids: { workflowId: string; alertId: string },
  unavailable: 'temporal' | 'store' = 'temporal',
): IntakeAnswer {
  if (status === 503) {
    const what = unavailable === 'temporal' ? 'Temporal is unreachable' : 'the evidence store is unavailable';
    return {
      status: 503,
      headers: { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_S) },
      body: {
        error: `${what}; the alert was not accepted, retry it`,
        ...ids,
        problems: [{ field: '(service)', message: `${unavailable} unavailable` }],
      },
    };
  }
  const refused = status === 422;
  const body = {
    error: refused ? 'Temporal refused the alert; retrying will not help' : 'internal error',
    ...ids,
    problems: [
      {
        field: '(alert)',
        message: refused
          ? 'refused by Temporal as invalid (see the intake log)'
          : 'handover failed (see the intake log)',
      },
    ],
  };
  return { status, body };
}

/** The answer for an alert handed over and counted, but over its case's limits: nothing was done with it. */
export function shedAnswer(answer: object): IntakeAnswer {
  const body = {
    ...answer,
    error: 'the case shed this alert: counted and audited, not acted on',
    problems: [
      {
        field: '(case)',
        message:
          'over the alerts a case takes per minute or the alert bytes it keeps (policy caseLimits); send it again later if it matters',
      },
    ],
  };
  return { status: 429, headers: { 'retry-after': String(SHED_RETRY_AFTER_S) }, body };
}
