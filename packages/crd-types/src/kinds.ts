import { type TObject, Type } from '@sinclair/typebox';
import type { API_VERSION } from './constants.js';
import {
  GatewaySpec,
  GatewayStatus,
  type WireKubeGatewaySpec,
  type WireKubeGatewayStatus,
} from './schema/gateway.js';
import { MeshSpec, MeshStatus, type WireKubeMeshSpec, type WireKubeMeshStatus } from './schema/mesh.js';
import { PeerSpec, PeerStatus, type WireKubePeerSpec, type WireKubePeerStatus } from './schema/peer.js';

/** A column of `kubectl get` (CRD additionalPrinterColumns). */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0: shown by default; 1: only with `-o wide`. */
  priority?: number;
}

/** Everything needed to serve one kind: names, schemas and how kubectl prints it. */
export interface KindDefinition {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: TObject;
  status: TObject;
  /** Whether `spec` must be present (WireKubeMesh may omit it and take every default). */
  specRequired: boolean;
  printerColumns: PrinterColumn[];
}

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const meshKind: KindDefinition = {
  kind: 'WireKubeMesh',
  listKind: 'WireKubeMeshList',
  plural: 'wirekubemeshes',
  singular: 'wirekubemesh',
  shortNames: ['wkmesh'],
  description: 'Global mesh configuration. Typically one instance named default exists per cluster.',
  spec: Type.Object(MeshSpec.properties, { default: {} }),
  status: MeshStatus,
  specRequired: false,
  printerColumns: [
    { name: 'Port', type: 'integer', jsonPath: '.spec.listenPort' },
    { name: 'Interface', type: 'string', jsonPath: '.spec.interfaceName' },
    { name: 'MTU', type: 'integer', jsonPath: '.spec.mtu', priority: 1 },
    { name: 'Relay', type: 'string', jsonPath: '.spec.relay.mode' },
    { name: 'Provider', type: 'string', jsonPath: '.spec.relay.provider', priority: 1 },
    age,
  ],
};

export const peerKind: KindDefinition = {
  kind: 'WireKubePeer',
  listKind: 'WireKubePeerList',
  plural: 'wirekubepeers',
  singular: 'wirekubepeer',
  shortNames: ['wkpeer'],
  description: 'One mesh-participating node. Created and managed by the agent on that node.',
  spec: PeerSpec,
  status: PeerStatus,
  specRequired: true,
  printerColumns: [
    { name: 'Endpoint', type: 'string', jsonPath: '.spec.endpoint' },
    { name: 'NAT', type: 'string', jsonPath: '.status.natType' },
    { name: 'Mode', type: 'string', jsonPath: '.status.transportMode' },
    { name: 'Connected', type: 'boolean', jsonPath: '.status.connected' },
    { name: 'Discovery', type: 'string', jsonPath: '.status.endpointDiscoveryMethod', priority: 1 },
    { name: 'Handshake', type: 'date', jsonPath: '.status.lastHandshake', priority: 1 },
    { name: 'AllowedIPs', type: 'string', jsonPath: '.spec.allowedIPs', priority: 1 },
    age,
  ],
};

export const gatewayKind: KindDefinition = {
  kind: 'WireKubeGateway',
  listKind: 'WireKubeGatewayList',
  plural: 'wirekubegateways',
  singular: 'wirekubegateway',
  shortNames: ['wkgw'],
  description: 'A virtual gateway through which mesh nodes reach networks behind designated gateway nodes.',
  spec: GatewaySpec,
  status: GatewayStatus,
  specRequired: true,
  printerColumns: [
    { name: 'Active', type: 'string', jsonPath: '.status.activePeer' },
    { name: 'Ready', type: 'boolean', jsonPath: '.status.ready' },
    { name: 'Routes', type: 'integer', jsonPath: '.status.routesInjected' },
    age,
  ],
};

export const KINDS = {
  WireKubeMesh: meshKind,
  WireKubePeer: peerKind,
  WireKubeGateway: gatewayKind,
} as const;

export type KindName = keyof typeof KINDS;

/** The subset of metav1.ObjectMeta WireKube reads and writes; structurally compatible with client-node's. */
export interface ObjectMeta {
  name?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: Date | string;
  deletionTimestamp?: Date | string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }>;
}

interface Resource<K extends KindName, Spec, Status> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export type WireKubeMesh = Resource<'WireKubeMesh', WireKubeMeshSpec, WireKubeMeshStatus>;
export type WireKubePeer = Resource<'WireKubePeer', WireKubePeerSpec, WireKubePeerStatus>;
export type WireKubeGateway = Resource<'WireKubeGateway', WireKubeGatewaySpec, WireKubeGatewayStatus>;
