import type { CoreV1Api } from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../src/index.js';

function recorder(create: (request: unknown) => Promise<unknown>) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const core = { createNamespacedEvent: create } as unknown as CoreV1Api;
  return { events: new EventRecorder({ core, component: 'wirekube-agent', host: 'n1', log }), lines };
}

const PEER = {
  apiVersion: 'wirekube.io/v1alpha1',
  kind: 'WireKubePeer',
  metadata: { name: 'node-a', uid: 'uid-a' },
};

describe('EventRecorder', () => {
  it('writes an Event about a cluster-scoped object into "default"', async () => {
    const requests: unknown[] = [];
    const { events } = recorder(async (r) => requests.push(r));
    await events.record(PEER, 'Warning', 'PeerSkipped', 'bad key');
    expect(requests).toMatchObject([
      {
        namespace: 'default',
        body: {
          metadata: { generateName: 'node-a.' },
          involvedObject: {
            apiVersion: 'wirekube.io/v1alpha1',
            kind: 'WireKubePeer',
            name: 'node-a',
            uid: 'uid-a',
          },
          type: 'Warning',
          reason: 'PeerSkipped',
          message: 'bad key',
          source: { component: 'wirekube-agent', host: 'n1' },
          reportingComponent: 'wirekube-agent',
          reportingInstance: 'n1',
          count: 1,
        },
      },
    ]);
  });

  it('puts an Event about a namespaced object in its namespace', async () => {
    const requests: Array<{ namespace: string }> = [];
    const { events } = recorder(async (r) => requests.push(r as { namespace: string }));
    await events.record(
      { kind: 'Lease', metadata: { name: 'l', namespace: 'wirekube-system' } },
      'Normal',
      'R',
      'm',
    );
    expect(requests[0]?.namespace).toBe('wirekube-system');
  });

  it('never throws: a failed write is one warning log line', async () => {
    const { events, lines } = recorder(async () => {
      throw new Error('forbidden');
    });
    await expect(events.record(PEER, 'Normal', 'EndpointChanged', 'x')).resolves.toBeUndefined();
    expect(lines).toMatchObject([
      { event: 'event-record-failed', object: 'node-a', reason: 'EndpointChanged', err: 'forbidden' },
    ]);
  });
});
