import { errorMessage, mergePatchFor, type ReconcileResult, type Reconciler } from '@wirekube/kube-runtime';
import type { Logger } from 'pino';
import type { ControllerCache, ControllerWriter } from '../kube/cluster.js';
import { planMeshStatus } from '../mesh/status.js';

/** Keeps the WireKubeMesh's peer counts current. */
export class MeshReconciler implements Reconciler {
  constructor(
    private readonly deps: {
      cache: ControllerCache;
      writer: ControllerWriter;
      meshName: string;
      log: Logger;
    },
  ) {}

  async reconcile(): Promise<ReconcileResult> {
    const { cache, writer, meshName, log } = this.deps;
    const mesh = cache.mesh(meshName);
    if (!mesh) {
      log.debug({ event: 'mesh-missing', mesh: meshName }, 'no WireKubeMesh to update');
      return {};
    }
    const plan = planMeshStatus(mesh, cache.peers());
    const patch = plan.changed ? mergePatchFor(mesh.status ?? {}, plan.status) : undefined;
    if (!patch) return {};
    try {
      await writer.patchMeshStatus(meshName, patch);
    } catch (error) {
      throw new Error(`mesh ${meshName} status: ${errorMessage(error)}`, { cause: error });
    }
    return {};
  }
}
