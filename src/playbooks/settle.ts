// When a case has done everything it can without more input: the next step of a timeline, and
// every expectation, waits for this, so what a test sees never depends on how fast the machine is.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const Type = temporal.api.enums.v1.EventType;

const CLOSED = new Set([
  Type.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  Type.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  Type.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
  Type.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  Type.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
]);

const ACTIVITY_ENDED = [
  'activityTaskCompletedEventAttributes',
  'activityTaskFailedEventAttributes',
  'activityTaskTimedOutEventAttributes',
  'activityTaskCanceledEventAttributes',
] as const;

type Event = temporal.api.history.v1.IHistoryEvent;

/**
 * Quiet: the run finished, or its last workflow task completed with no activity still running
 * and nothing (signal, timer, activity result) arrived since. A run that continued as new is not
 * quiet: its successor is the one to read.
 */
export function isQuiet(events: Event[]): boolean {
  const last = events.at(-1)?.eventType;
  if (last !== undefined && last !== null && CLOSED.has(last)) return true;
  if (last === Type.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW) return false;
  const running = new Set<string>();
  let lastTask: Event | undefined;
  for (const event of events) {
    if (event.eventType === Type.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) running.add(String(event.eventId));
    for (const key of ACTIVITY_ENDED) {
      const ended = event[key]?.scheduledEventId;
      if (ended !== undefined && ended !== null) running.delete(String(ended));
    }
    if (event.workflowTaskCompletedEventAttributes || event.workflowTaskScheduledEventAttributes) lastTask = event;
    if (event.workflowExecutionSignaledEventAttributes || event.timerFiredEventAttributes) lastTask = event;
  }
  return running.size === 0 && lastTask?.eventType === Type.EVENT_TYPE_WORKFLOW_TASK_COMPLETED;
}

const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;
// Failures the server retries forever. Others pass on their own: an unhandled command (a signal
// arrived mid-task) or a reset sticky queue is followed at once by a task that completes.
const STUCK = new Set([
  Cause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
  Cause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
]);

/**
 * Why the case's workflow code keeps failing, when its last workflow task failed in the code
 * itself (an error thrown, nondeterminism): such a case never goes quiet.
 */
export function taskFailure(events: Event[]): string | undefined {
  const tasks = events.filter((e) => e.workflowTaskCompletedEventAttributes || e.workflowTaskFailedEventAttributes);
  const failed = tasks.at(-1)?.workflowTaskFailedEventAttributes;
  if (!failed || failed.cause === null || failed.cause === undefined || !STUCK.has(failed.cause)) return undefined;
  return failed.failure?.message ?? 'no message';
}

// Generous: a loaded 2-core machine replays and acts slowly, and nothing here depends on it.
const SETTLE_LIMIT_MS = 120_000;
const POLL_MS = 50;

/** Waits until every case in `workflowIds` is quiet at once; throws, naming a case, when one never is. */
export async function settle(client: Client, workflowIds: readonly string[]): Promise<void> {
  const deadline = Date.now() + SETTLE_LIMIT_MS;
  for (;;) {
    const busy: string[] = [];
    for (const workflowId of workflowIds) {
      const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const failure = taskFailure(events);
      if (failure) throw new Error(`${workflowId}: its workflow task fails: ${failure}`);
      if (!isQuiet(events)) busy.push(workflowId);
    }
    if (busy.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${busy.join(', ')} did not settle within ${SETTLE_LIMIT_MS / 1000} s (still working)`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
