// `cordon source token` and `cordon approver token`: a new bearer token, and the entry that admits it.
import { newToken } from '../intake/sources';

/** A new bearer token, shown once, and the file entry that admits it (sources or approvers). */
export function tokenEntry(name: string, { whose, keep, file }: { whose: string; keep: string; file: string }): string {
  const { token, hash } = newToken();
  return [
    `# Bearer token for ${whose} (shown once; ${keep}):`,
    `#   ${token}`,
    `# Add this to the ${file}:`,
    `  - name: ${name}`,
    `    tokens: ["${hash}"]`,
    '',
  ].join('\n');
}

/** `source token NAME`. */
export const sourceToken = (name: string) =>
  tokenEntry(name, {
    whose: `source "${name}"`,
    keep: "store it in the forwarder's secret store",
    file: 'sources file (CORDON_SOURCES_FILE)',
  });

/** `approver token NAME`. */
export const approverToken = (name: string) =>
  tokenEntry(name, {
    whose: `approver ${name}`,
    keep: 'keep it in your password manager',
    file: 'approvers file (CORDON_APPROVERS_FILE)',
  });
