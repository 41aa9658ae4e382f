// Stage names without zod: workflow code imports these, and every new workflow evaluates its
// imports afresh, so building the policy schema there cost each case several milliseconds.

/** Containment stages, smallest blast radius first; plans always run in this order. */
export const STAGE_ORDER = ['observe', 'restrict', 'isolate', 'verify-window', 'revoke', 'rotate'] as const;
export type StageName = (typeof STAGE_ORDER)[number];

/** Stages that cannot be undone: never automatic without the policy saying so for the case. */
export const IRREVERSIBLE_STAGES: readonly StageName[] = ['revoke', 'rotate'];
