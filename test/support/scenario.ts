// Helpers for containment scenarios: a writable inventory, a webhook sink, status waits.
import { createServer, type Server } from 'node:http';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { expect, vi } from 'vitest';
import { statusQuery, type ContainmentStatus } from '../../workflows/definitions';

export { TEST_POLICY, TestInventory, testPolicyWith, testPolicyWithBudget } from './stack';

/** A local webhook receiver that keeps every JSON body it is sent. */
export class WebhookSink {
  readonly received: Record<string, unknown>[] = [];
  /** Requests still to answer with `failStatus` (a receiver that is down, or refuses). */
  failNext = 0;
  failStatus = 500;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<WebhookSink> {
    let sink: WebhookSink | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (sink && sink.failNext > 0) {
          sink.failNext -= 1;
          return void res.writeHead(sink.failStatus).end();
        }
        sink?.received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    sink = new WebhookSink(server, `http://127.0.0.1:${port}/hook`);
    return sink;
  }

  /** Bodies of one kind for one workflow. */
  of(kind: string, workflowId: string) {
    return this.received.filter((b) => b.kind === kind && b.workflowId === workflowId);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Retries `check` until it passes; workflows progress asynchronously (20 s, for loaded CI). */
export function eventually<T>(check: () => T | Promise<T>, options: { timeout?: number } = {}): Promise<T> {
  return vi.waitFor(check, { timeout: options.timeout ?? 20_000, interval: 100 });
}

/** Polls the status query until `check` passes (the workflow progresses asynchronously). */
export async function waitForStatus(
  handle: WorkflowHandle,
  check: (status: ContainmentStatus) => void,
  timeout = 20_000,
): Promise<ContainmentStatus> {
  return vi.waitFor(
    async () => {
      const status = await handle.query(statusQuery);
      check(status);
      return status;
    },
    { timeout, interval: 100 },
  );
}

/** Waits until the workflow has an approval request open, and returns its id. */
export async function pendingRequestId(handle: WorkflowHandle, stage?: string): Promise<string> {
  const status = await waitForStatus(handle, (s) => {
    expect(s.pendingRequest).toBeDefined();
    if (stage) expect(s.pendingRequest?.stage).toBe(stage);
  });
  return status.pendingRequest!.requestId;
}

/** The containment handle of a simulated identity. */
export const containment = (client: Client, id: string) => client.workflow.getHandle(`contain:simulated:${id}`);
