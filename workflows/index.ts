// The worker's workflowsPath: every workflow type Cordon registers.
export { containIdentity } from './containIdentity';
