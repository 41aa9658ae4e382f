// When `cordon test` counts a case as done reacting, read from its history's events.
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { isQuiet, taskFailure } from '../src/playbooks/settle';

const T = temporal.api.enums.v1.EventType;
const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;
type Event = temporal.api.history.v1.IHistoryEvent;

let id = 0;
const event = (eventType: temporal.api.enums.v1.EventType, attributes: Partial<Event> = {}): Event => ({
  eventId: ++id as unknown as Event['eventId'],
  eventType,
  ...attributes,
});
const started = () => event(T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
const taskScheduled = () => event(T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, { workflowTaskScheduledEventAttributes: {} });
const taskCompleted = () => event(T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, { workflowTaskCompletedEventAttributes: {} });
const taskFailed = (cause: temporal.api.enums.v1.WorkflowTaskFailedCause) =>
  event(T.EVENT_TYPE_WORKFLOW_TASK_FAILED, {
    workflowTaskFailedEventAttributes: { cause, failure: { message: 'boom in workflow code' } },
  });

describe('isQuiet', () => {
  it('is quiet once the last task completed and nothing runs or arrived since', () => {
    expect(isQuiet([started(), taskScheduled(), taskCompleted(), event(T.EVENT_TYPE_TIMER_STARTED)])).toBe(true);
  });

  it('is busy while an activity runs, and quiet once its result was handled', () => {
    const scheduled = event(T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    const running = [started(), taskScheduled(), taskCompleted(), scheduled];
    expect(isQuiet(running)).toBe(false);
    const done = event(T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, {
      activityTaskCompletedEventAttributes: { scheduledEventId: scheduled.eventId },
    });
    expect(isQuiet([...running, done, taskScheduled()])).toBe(false);
    expect(isQuiet([...running, done, taskScheduled(), taskCompleted()])).toBe(true);
  });

  it('is busy when a signal or a timer arrived after the last task', () => {
    const base = [started(), taskScheduled(), taskCompleted()];
    expect(
      isQuiet([
        ...base,
        event(T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, { workflowExecutionSignaledEventAttributes: {} }),
      ]),
    ).toBe(false);
    expect(isQuiet([...base, event(T.EVENT_TYPE_TIMER_FIRED, { timerFiredEventAttributes: {} })])).toBe(false);
  });

  it('is quiet when the run closed, but not when it continued as new', () => {
    expect(
      isQuiet([started(), taskScheduled(), taskCompleted(), event(T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)]),
    ).toBe(true);
    expect(
      isQuiet([started(), taskScheduled(), taskCompleted(), event(T.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)]),
    ).toBe(false);
  });
});

describe('taskFailure', () => {
  it('names an error thrown in workflow code, or nondeterminism, while it is the last task', () => {
    const failing = [
      started(),
      taskScheduled(),
      taskFailed(Cause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE),
    ];
    expect(taskFailure(failing)).toBe('boom in workflow code');
    expect(taskFailure([started(), taskFailed(Cause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR)])).toBe(
      'boom in workflow code',
    );
    expect(taskFailure([...failing, taskScheduled(), taskCompleted()])).toBeUndefined();
  });

  it('ignores failures that pass on their own: a signal that arrived mid-task', () => {
    expect(taskFailure([started(), taskFailed(Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND)])).toBeUndefined();
  });
});
