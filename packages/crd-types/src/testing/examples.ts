import { parse } from 'yaml';
import type { KindName } from '../kinds.js';

// The YAML examples of the seed CRD reference, verbatim. They are part of the contract: each must validate
// locally and be accepted by a real API server.
const MESH = `apiVersion: wirekube.io/v1alpha1
kind: WireKubeMesh
metadata:
  name: default
spec:
  listenPort: 51820
  interfaceName: wire_kube
  mtu: 1420
  stunServers:
    - stun.cloudflare.com:3478
    - stun.l.google.com:19302
  relay:
    mode: auto
    provider: managed
    handshakeTimeoutSeconds: 30
    directRetryIntervalSeconds: 120
    external:
      endpoint: "relay.example.com:3478"
      transport: tcp
    managed:
      replicas: 1
      serviceType: LoadBalancer
      port: 3478
`;

const PEER = `apiVersion: wirekube.io/v1alpha1
kind: WireKubePeer
metadata:
  name: node-my-node
  labels:
    wirekube.io/node: my-node
spec:
  publicKey: "base64-encoded-wireguard-public-key"
  endpoint: "203.0.113.5:51820"
  allowedIPs:
    - "10.0.0.5/32"
  persistentKeepalive: 25
`;

const GATEWAY = `apiVersion: wirekube.io/v1alpha1
kind: WireKubeGateway
metadata:
  name: vpc-b-gateway
spec:
  peerRefs:
    - node-b1
    - node-b2
  clientRefs:
    - node-a1
  routes:
    - cidr: "172.20.0.0/16"
      description: "VPC-B subnet"
  snat:
    enabled: true
    sourceIP: ""
  healthCheck:
    enabled: true
    target: "172.20.1.254:443"
    intervalSeconds: 30
    timeoutSeconds: 5
    failureThreshold: 3
`;

export const SEED_EXAMPLE_YAML: Readonly<Record<KindName, string>> = {
  WireKubeMesh: MESH,
  WireKubePeer: PEER,
  WireKubeGateway: GATEWAY,
};

export type PlainObject = { [key: string]: unknown };

/** A fresh, mutable copy of a seed example. */
export function seedExample(kind: KindName): PlainObject {
  return parse(SEED_EXAMPLE_YAML[kind]) as PlainObject;
}
