// The published-format fixtures in examples/alerts/ and what each format's schema requires:
// shared by the mapping tests and the hostile-input property test.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FormatName } from '../../src/alerts/formats';

export const EXAMPLES_DIR = path.resolve(__dirname, '..', '..', 'examples', 'alerts');

/** A fresh copy of an example payload. */
export const example = (file: string): Record<string, any> =>
  JSON.parse(readFileSync(path.join(EXAMPLES_DIR, file), 'utf8'));

export interface FormatCase {
  format: FormatName;
  file: string;
  headers?: Record<string, string>;
  /** Paths the format's schema requires: deleting any one must be refused, naming it. */
  required: string[];
  /** String paths with a maximum length: a huge value there must be refused. */
  bounded: string[];
  /** Where the identity id comes from, when it is taken as sent (it becomes a workflow id). */
  identity?: string;
}

export const FORMAT_CASES: FormatCase[] = [
  {
    format: 'native',
    file: 'secret-leak.json',
    required: ['id', 'source', 'kind', 'severity', 'confidence', 'identity', 'identity.provider', 'identity.id'],
    bounded: ['id', 'source', 'summary', 'identity.id'],
    identity: 'identity.id',
  },
  {
    format: 'ocsf',
    file: 'ocsf-detection-finding.json',
    required: ['class_uid', 'time', 'severity_id', 'metadata', 'metadata.version', 'finding_info', 'finding_info.uid'],
    bounded: ['finding_info.uid', 'finding_info.title', 'metadata.version', 'actor.user.name'],
    identity: 'evidences.0.user.name',
  },
  {
    format: 'github',
    file: 'github-secret-scanning.json',
    headers: { 'x-github-event': 'secret_scanning_alert' },
    required: [
      'action',
      'alert',
      'alert.number',
      'alert.secret_type',
      'alert.html_url',
      'alert.created_at',
      'repository',
      'repository.full_name',
    ],
    bounded: ['action', 'alert.secret_type', 'repository.full_name'],
  },
  {
    format: 'guardduty',
    file: 'guardduty-finding.json',
    required: [
      'SchemaVersion',
      'AccountId',
      'Region',
      'Id',
      'Type',
      'Severity',
      'CreatedAt',
      'UpdatedAt',
      'Resource',
      'Resource.ResourceType',
    ],
    bounded: ['Id', 'Type', 'Title', 'Resource.AccessKeyDetails.UserName'],
    identity: 'Resource.AccessKeyDetails.UserName',
  },
  {
    format: 'guardduty',
    file: 'guardduty-eventbridge.json',
    required: [
      'source',
      'detail',
      'detail.id',
      'detail.severity',
      'detail.updatedAt',
      'detail.resource',
      'detail.resource.resourceType',
    ],
    bounded: ['detail.id', 'detail.type'],
    identity: 'detail.resource.accessKeyDetails.userName',
  },
  {
    format: 'falco',
    file: 'falco-k8s-audit.json',
    required: ['rule', 'priority', 'time', 'output_fields'],
    bounded: ['rule', 'uuid', 'hostname', 'output_fields.ka\u0000user\u0000name'],
  },
];

/** Splits a dotted path; `\u0000` stands for a dot inside a key (Falco's `ka.user.name`). */
export const pathKeys = (p: string) => p.split('.').map((k) => k.replace(/\u0000/g, '.'));

/** Sets (or with `undefined`, deletes) the value at a path, in place. */
export function setPath(target: Record<string, any>, p: string, value: unknown): Record<string, any> {
  const keys = pathKeys(p);
  const parent = keys.slice(0, -1).reduce((node, key) => node[key], target);
  const last = keys[keys.length - 1];
  if (value === undefined) delete parent[last];
  else parent[last] = value;
  return target;
}
