import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { errorMessage } from '../errors/errors.js';

export type EventType = 'Normal' | 'Warning';

/**
 * What an Event needs to know about the object it is about: any KubernetesObject, and also our CRD types
 * (whose timestamps are strings, which client-node's KubernetesObject does not allow).
 */
export interface InvolvedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string };
}

export interface EventRecorderOptions {
  core: CoreV1Api;
  /** `source.component` and `reportingComponent`, e.g. `wirekube-agent`. */
  component: string;
  /** `source.host` and `reportingInstance`: the node or pod name. */
  host?: string;
  log: Logger;
}

/**
 * Writes core/v1 Events about an object, the way `kubectl describe` shows them. Events are advice for humans: a
 * failure to record one is logged and swallowed, never allowed to fail the work it describes.
 */
export class EventRecorder {
  constructor(private readonly options: EventRecorderOptions) {}

  async record(involved: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const { core, component, host, log } = this.options;
    const name = involved.metadata?.name ?? 'unknown';
    // Events about cluster-scoped objects live in "default", where `kubectl describe` looks for them.
    const namespace = involved.metadata?.namespace ?? 'default';
    const now = new Date();
    try {
      await core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${name}.` },
          involvedObject: {
            ...(involved.apiVersion ? { apiVersion: involved.apiVersion } : {}),
            ...(involved.kind ? { kind: involved.kind } : {}),
            name,
            ...(involved.metadata?.namespace ? { namespace: involved.metadata.namespace } : {}),
            ...(involved.metadata?.uid ? { uid: involved.metadata.uid } : {}),
          },
          type,
          reason,
          message,
          source: { component, ...(host ? { host } : {}) },
          reportingComponent: component,
          ...(host ? { reportingInstance: host } : {}),
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (error) {
      log.warn(
        { event: 'event-record-failed', object: name, reason, err: errorMessage(error) },
        'cannot record event',
      );
    }
  }
}
