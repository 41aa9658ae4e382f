// What tests capture to assert on: every log line, and the failure a call ends in.
import { ApplicationFailure } from '@temporalio/common';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { createLogger, type Logger } from '../../src/log';

/** A logger at trace level that keeps every line; `text()` is all of them so far. */
export function recordingLogger(): { logger: Logger; text(): string } {
  let text = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { logger: createLogger('trace', sink), text: () => text };
}

/** The ApplicationFailure `call` rejects with (fails the test when it resolves or throws anything else). */
export async function failureOf(call: () => Promise<unknown>): Promise<ApplicationFailure> {
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}
