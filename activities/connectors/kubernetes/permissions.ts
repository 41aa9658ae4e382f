import type { PolicyRule } from './access';

/**
 * Each action's `permissions` entry reads `<resource>[.<API group>]: <verb>, <verb>` (the core
 * group has no suffix; a subresource follows its resource, `serviceaccounts/token`). These turn
 * them into the rules of a ClusterRole, the one the README lists and the tests bind Cordon to.
 */
export function parsePermission(entry: string): { group: string; resource: string; verbs: string[] } {
  const match = /^([a-z0-9/]+)((?:\.[a-z0-9-]+)*): ([a-z]+(?:, [a-z]+)*)$/.exec(entry);
  if (!match) throw new Error(`not a Kubernetes permission ("<resource>[.<group>]: <verb>, …"): ${entry}`);
  return { resource: match[1], group: match[2].slice(1), verbs: match[3].split(', ') };
}

/** The ClusterRole rules that grant every entry: one rule per group and resource, verbs merged and sorted. */
export function clusterRoleRules(entries: readonly string[]): PolicyRule[] {
  const verbs = new Map<string, Set<string>>();
  for (const entry of entries) {
    const { group, resource, verbs: more } = parsePermission(entry);
    const key = `${group} ${resource}`;
    const known = verbs.get(key) ?? new Set<string>();
    more.forEach((verb) => known.add(verb));
    verbs.set(key, known);
  }
  return [...verbs.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, set]) => {
      const [group, resource] = key.split(' ');
      return { apiGroups: [group], resources: [resource], verbs: [...set].sort() };
    });
}
