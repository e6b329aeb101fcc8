import type { WireKubeMesh, WireKubeMeshStatus, WireKubePeer } from '@wirekube/crd-types';

export interface MeshStatusPlan {
  status: WireKubeMeshStatus;
  changed: boolean;
}

/** WireKubeMesh status counts: peers in the mesh (not being deleted) and those with a recent handshake. */
export function planMeshStatus(mesh: WireKubeMesh, peers: readonly WireKubePeer[]): MeshStatusPlan {
  const live = peers.filter((p) => !p.metadata.deletionTimestamp);
  const status: WireKubeMeshStatus = {
    peerCount: live.length,
    connectedCount: live.filter((p) => p.status?.connected === true).length,
  };
  const before = mesh.status ?? {};
  return {
    status,
    changed: before.peerCount !== status.peerCount || before.connectedCount !== status.connectedCount,
  };
}
