import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  makeContinueAsNewFunc,
  patched,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import { governorReleasedSignal } from './definitions';
import {
  engageUpdate,
  governorStatusQuery,
  governorTaskQueue,
  grantRecordedSignal,
  killSwitchQuery,
  permitDecisionSignal,
  releaseUpdate,
  requestPermitSignal,
  type GovernorStatus,
  type PermitDecision,
  type PermitRequest,
  type SwitchInput,
  switchMemo,
} from './governorDefinitions';

const KEEP_GRANTS_MS = 24 * 3_600_000;
const MAX_HISTORY_EVENTS = 5_000;
const REMEMBERED_ANSWERS = 500;
// Temporal fails a workflow task that leaves more than 2,000 outgoing signals in flight.
const SIGNALS_IN_FLIGHT = 1_000;
// Continue-as-new input must stay under the payload limit (2 MB). Requests not carried are
// asked again by their workflows (askGovernor.ts), so dropping them only delays them.
const CARRIED_REQUESTS = 2_000;
/**
 * Patch id: requests are queued by the signal handler and answered by the main loop, which can
 * then continue-as-new under any load, carrying the unanswered ones. Before it, each handler
 * awaited its own answer, so a steady stream of requests kept the run from ever continuing.
 */
const ANSWERS_FROM_MAIN_LOOP = 'governor-answers-from-main-loop';
/** Patch id: a governor started on the service's task queue continues-as-new onto its own. */
const OWN_TASK_QUEUE = 'governor-own-task-queue';
/**
 * Patch id: the governor keeps its kill switch in its memo, where a case reads it by describing
 * the run: the history service answers, with no task through the governor's worker. A query
 * waits behind the governor's running task, and under a burst of cases half the reads ran out
 * of time, sending those cases to ask by signal, which kept the governor busier still.
 */
const SWITCH_IN_MEMO = 'governor-switch-in-memo';

function validateSwitch(input: SwitchInput): void {
  if (!input || typeof input.by !== 'string' || input.by.length === 0) throw new Error('"by" is required');
}

/**
 * The singleton governor shared by every containment: a kill switch and a budget of
 * destructive actions per time window. The switch moves by update (synchronous, ordered);
 * permits are asked and answered by signal (see governorDefinitions.ts for why).
 */
export async function cordonGovernor(
  carried?: GovernorStatus,
  carriedAnswers: [string, PermitDecision][] = [],
  carriedRequests: PermitRequest[] = [],
  maxHistoryEvents = MAX_HISTORY_EVENTS,
): Promise<void> {
  const state: GovernorStatus = carried ?? { engaged: false, granted: [], waiting: [] };
  // Set in the same task as the switch moves, so an engage that has returned is in the memo.
  const inMemo = patched(SWITCH_IN_MEMO);
  const publishSwitch = () => inMemo && upsertMemo(switchMemo(state.engaged));
  publishSwitch();

  // Answers by request id, so a re-sent request is answered again without counting twice.
  // Grants are also found in `state.granted`, which outlives this bounded memory.
  const answers = new Map<string, PermitDecision>(carriedAnswers);
  const grantedIds = new Set(state.granted.map((g) => g.requestId).filter(Boolean));
  // Received and not yet answered, oldest first; a request asked again while queued is queued once.
  const unanswered = new Map(carriedRequests.map((r) => [r.requestId, r]));

  // Grants are appended as they come, so the first is the oldest (give or take clock skew between
  // relays): while it has not expired, a call (one per relayed grant) scans nothing.
  const forgetOldGrants = () => {
    const now = Date.now();
    const expired = (g: { at: string }) => now - Date.parse(g.at) >= KEEP_GRANTS_MS;
    if (state.granted.length && expired(state.granted[0])) state.granted = state.granted.filter((g) => !expired(g));
  };

  function decide(request: PermitRequest): PermitDecision {
    if (state.engaged) {
      if (!state.waiting.includes(request.workflowId)) state.waiting.push(request.workflowId);
      return 'engaged';
    }
    forgetOldGrants();
    const now = Date.now();
    if (!request.destructive) return 'granted';
    const recent = state.granted.filter((g) => now - Date.parse(g.at) < request.budget.windowMs);
    if (!request.approved && recent.length >= request.budget.limit) return 'over-budget';
    // A dry run gets the answer a real case would, but spends no budget: nothing will be done.
    if (request.shadow) return 'granted';
    state.granted.push({ at: new Date(now).toISOString(), workflowId: request.workflowId, stage: request.stage, requestId: request.requestId });
    grantedIds.add(request.requestId);
    return 'granted';
  }

  // `grantsRemembered`: a grant the bounded memory forgot is still found in the grants (only since
  // the patch: runs before it re-decided such a request, and must replay that way).
  async function answer(request: PermitRequest, grantsRemembered: boolean): Promise<void> {
    const decision = answers.get(request.requestId) ?? (grantsRemembered && grantedIds.has(request.requestId) ? 'granted' : decide(request));
    if (decision !== 'engaged') answers.set(request.requestId, decision);
    if (answers.size > REMEMBERED_ANSWERS) answers.delete(answers.keys().next().value as string);
    // The asker may have ended meanwhile; that is not the governor's failure.
    await getExternalWorkflowHandle(request.workflowId)
      .signal(permitDecisionSignal, { requestId: request.requestId, decision })
      .catch(() => undefined);
  }

  setHandler(requestPermitSignal, (request) => {
    if (!patched(ANSWERS_FROM_MAIN_LOOP)) return answer(request, false);
    if (!unanswered.has(request.requestId)) unanswered.set(request.requestId, request);
  });

  // Claimed in the database by a case, so already counted there; a repeat is ignored.
  setHandler(grantRecordedSignal, (grant) => {
    if (grant.requestId && grantedIds.has(grant.requestId)) return;
    forgetOldGrants();
    state.granted.push(grant);
    if (grant.requestId) grantedIds.add(grant.requestId);
  });

  setHandler(
    engageUpdate,
    ({ by, reason }) => {
      Object.assign(state, { engaged: true, engagedBy: by, reason, since: new Date().toISOString() });
      publishSwitch();
      return state;
    },
    { validator: validateSwitch },
  );

  // A waiting containment may have finished meanwhile; that is not the governor's failure.
  const release = (workflowId: string) => getExternalWorkflowHandle(workflowId).signal(governorReleasedSignal).catch(() => undefined);

  setHandler(
    releaseUpdate,
    async ({ by, reason }) => {
      Object.assign(state, { engaged: false, engagedBy: by, reason, since: new Date().toISOString() });
      publishSwitch();
      const waiting = state.waiting.splice(0);
      if (!patched(ANSWERS_FROM_MAIN_LOOP)) await Promise.all(waiting.map(release));
      // The main loop tells them, within the same bound on signals in flight as the answers.
      else state.releasing = [...(state.releasing ?? []), ...waiting];
      return state;
    },
    { validator: validateSwitch },
  );

  setHandler(governorStatusQuery, () => state);
  setHandler(killSwitchQuery, () => state.engaged);

  const tooLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxHistoryEvents;
  // Releases, then answers, go out as they come, up to a bound in flight: one slow delivery
  // holds up nothing. Releases not yet sent are carried in `state.releasing`.
  let inFlight = 0;
  const send = (signal: Promise<void>) => {
    inFlight++;
    void signal.finally(() => inFlight--);
  };
  const waitingToGo = () => (state.releasing?.length ?? 0) + unanswered.size > 0;
  // Started on the case queue (by a version before the governor had its own), it moves once it
  // has sent everything: it does not wait for 5,000 events, and it leaves no request behind.
  const onCaseQueue = workflowInfo().taskQueue !== governorTaskQueue(workflowInfo().taskQueue);
  while (!tooLong()) {
    await condition(() => (waitingToGo() && inFlight < SIGNALS_IN_FLIGHT) || tooLong());
    if (tooLong()) break;
    for (const id of state.releasing?.splice(0, SIGNALS_IN_FLIGHT - inFlight) ?? []) send(release(id));
    for (const request of [...unanswered.values()].slice(0, SIGNALS_IN_FLIGHT - inFlight)) {
      unanswered.delete(request.requestId);
      send(answer(request, true));
    }
    if (onCaseQueue && !waitingToGo() && patched(OWN_TASK_QUEUE)) break;
  }
  await condition(() => inFlight === 0 && allHandlersFinished());
  forgetOldGrants();
  const carriedOn = [...unanswered.values()].slice(0, CARRIED_REQUESTS);
  if (unanswered.size > carriedOn.length) log.warn('governor: requests left to be asked again', { dropped: unanswered.size - carriedOn.length });
  const continueOn = patched(OWN_TASK_QUEUE)
    ? makeContinueAsNewFunc<typeof cordonGovernor>({ taskQueue: governorTaskQueue(workflowInfo().taskQueue) })
    : continueAsNew<typeof cordonGovernor>;
  await continueOn(state, [...answers], carriedOn, maxHistoryEvents);
}
