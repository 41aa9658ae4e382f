// Node-side entry. Workflows import './plan', './schema' and './duration' directly.
export * from './schema';
export * from './plan';
export { durationMs } from './duration';
export { ConfigFileError, loadInventory, loadPolicy } from './load';
