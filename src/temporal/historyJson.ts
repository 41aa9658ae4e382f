// Workflow histories as JSON, in the format `temporal workflow show --output json` writes (proto3
// JSON: enum names, int64 as strings, bytes as base64).
import path from 'node:path';
import * as proto from '@temporalio/proto';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

type ProtoJson = {
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
  toJson(type: unknown, message: unknown): unknown;
};

// The installed SDK resolves two copies of protobufjs: @temporalio/common's `protojson` checks
// `instanceof Type` against its own copy while the History type comes from @temporalio/proto's,
// so `historyFromJSON`/`historyToJSON` throw "type must be a Type". The protojson of the copy
// that built the type reads and writes the same JSON.
function protojsonOfProtoPackage(): { json: ProtoJson; historyType: unknown } {
  const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
  const json = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as ProtoJson;
  // The package's own root (not an ESM namespace wrapper, which some loaders build from it).
  const root = require('@temporalio/proto') as Parameters<typeof patchProtobufRoot>[0];
  const historyType = (patchProtobufRoot(root) as unknown as { lookupType(name: string): unknown }).lookupType(
    'temporal.api.history.v1.History',
  );
  return { json, historyType };
}

const isDuplicateProtobuf = (err: unknown) => err instanceof TypeError && err.message === 'type must be a Type';

/** Parses an exported history (the parsed JSON value); throws TypeError when it is not one. */
export function historyFromJson(value: unknown): History {
  try {
    return historyFromJSON(value);
  } catch (err) {
    if (!isDuplicateProtobuf(err)) throw err;
    const { json, historyType } = protojsonOfProtoPackage();
    return json.fromJson(historyType, value, { ignoreUnknownFields: true }) as History;
  }
}

/** A fetched history as JSON text, readable by `historyFromJson` and `temporal workflow show` users. */
export function historyToJson(history: History): string {
  try {
    return historyToJSON(history);
  } catch (err) {
    if (!isDuplicateProtobuf(err)) throw err;
    const { json, historyType } = protojsonOfProtoPackage();
    const message = proto.temporal.api.history.v1.History.fromObject(history);
    return JSON.stringify(json.toJson(historyType, message), null, 2);
  }
}

/** The workflow id recorded in a history's first event (servers since 1.2x record it), if any. */
export function workflowIdIn(history: History): string | undefined {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId ?? undefined;
}
