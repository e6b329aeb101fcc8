import { isIP } from 'node:net';
import type { DesiredRelay } from '../relay/connection.js';
import type { RelayTarget } from '../relay/target.js';

/**
 * The agent ↔ relay-link protocol: one JSON object per line over a unix socket. The client speaks first
 * (`hello`); every later request gets exactly one answer, in order. Versioned so that an agent image newer than
 * the long-lived relay-link process notices instead of guessing.
 */
export const LINK_PROTOCOL_VERSION = 1;
/** A line longer than this is refused (a set for thousands of peers stays well below it). */
export const MAX_LINE_BYTES = 1024 * 1024;

export interface LinkKeys {
  publicKey: string;
  privateKey: string;
}

/** Per-peer proxy counters as they cross the process boundary: ages, not the other process's clock. */
export interface WireCounters {
  txPackets: number;
  txBytes: number;
  txDrops: number;
  rxPackets: number;
  rxBytes: number;
  /** Milliseconds since the last datagram each way; absent: never. */
  txAgeMs?: number;
  rxAgeMs?: number;
}

export interface LinkView {
  ready: boolean;
  addresses: string[];
  peers: Array<{ key: string; endpoint: string; counters?: WireCounters }>;
}

export type LinkRequest =
  | { type: 'hello'; version: number }
  | { type: 'set'; desired: DesiredRelay; keys: LinkKeys }
  | { type: 'view' }
  | { type: 'stop' };

export type LinkReply =
  | { type: 'hello'; version: number; pid: number }
  | { type: 'view'; view: LinkView }
  | { type: 'stopping' }
  | { type: 'error'; code: LinkErrorCode; message: string; field?: string };

export type LinkErrorCode = 'bad-message' | 'version' | 'not-hello' | 'set-failed';

/** A message that does not follow the protocol; `field` names the offending part. */
export class LinkProtocolError extends Error {
  constructor(
    message: string,
    readonly field: string,
    readonly code: LinkErrorCode = 'bad-message',
  ) {
    super(`${field}: ${message}`);
    this.name = 'LinkProtocolError';
  }
}

/** The relay-link answered with an error, or went away mid-request. */
export class LinkError extends Error {
  constructor(
    message: string,
    readonly code: LinkErrorCode | 'closed' | 'unavailable' | 'timeout',
    readonly socketPath: string,
  ) {
    super(`relay-link ${socketPath}: ${message}`);
    this.name = 'LinkError';
  }
}

export function encode(message: LinkRequest | LinkReply): string {
  return `${JSON.stringify(message)}\n`;
}

export function decodeRequest(line: string): LinkRequest {
  const o = object(parse(line), 'message');
  switch (o['type']) {
    case 'hello':
      return { type: 'hello', version: integer(o['version'], 'version', 1) };
    case 'set':
      return { type: 'set', desired: desired(o['desired']), keys: keys(o['keys']) };
    case 'view':
    case 'stop':
      return { type: o['type'] };
    default:
      throw new LinkProtocolError(`unknown type ${JSON.stringify(o['type'])}`, 'type');
  }
}

export function decodeReply(line: string): LinkReply {
  const o = object(parse(line), 'message');
  switch (o['type']) {
    case 'hello':
      return {
        type: 'hello',
        version: integer(o['version'], 'version', 1),
        pid: integer(o['pid'], 'pid', 0),
      };
    case 'view':
      return { type: 'view', view: view(o['view']) };
    case 'stopping':
      return { type: 'stopping' };
    case 'error': {
      const code = oneOf(o['code'], 'code', ['bad-message', 'version', 'not-hello', 'set-failed'] as const);
      const field = o['field'] === undefined ? undefined : string(o['field'], 'field');
      return { type: 'error', code, message: string(o['message'], 'message'), ...(field ? { field } : {}) };
    }
    default:
      throw new LinkProtocolError(`unknown type ${JSON.stringify(o['type'])}`, 'type');
  }
}

function parse(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new LinkProtocolError(`not JSON (${(error as Error).message})`, 'message');
  }
}

function desired(value: unknown): DesiredRelay {
  const o = object(value, 'desired');
  const peers = array(o['peers'], 'desired.peers').map((p, i) => key(p, `desired.peers[${i}]`));
  const wireguardPort = integer(o['wireguardPort'], 'desired.wireguardPort', 1, 65535);
  return o['target'] === undefined
    ? { peers, wireguardPort }
    : { target: target(o['target']), peers, wireguardPort };
}

function target(value: unknown): RelayTarget {
  const o = object(value, 'desired.target');
  const host = string(o['host'], 'desired.target.host');
  if (!isIP(host) && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(host))
    throw new LinkProtocolError('not an IP address or DNS name', 'desired.target.host');
  if (typeof o['pool'] !== 'boolean') throw new LinkProtocolError('must be a boolean', 'desired.target.pool');
  return {
    host,
    port: integer(o['port'], 'desired.target.port', 1, 65535),
    pool: o['pool'],
    source: oneOf(o['source'], 'desired.target.source', [
      'external',
      'external-ip',
      'load-balancer-ip',
      'load-balancer-hostname',
      'node-port',
    ] as const),
  };
}

function keys(value: unknown): LinkKeys {
  const o = object(value, 'keys');
  return {
    publicKey: key(o['publicKey'], 'keys.publicKey'),
    privateKey: key(o['privateKey'], 'keys.privateKey'),
  };
}

function view(value: unknown): LinkView {
  const o = object(value, 'view');
  if (typeof o['ready'] !== 'boolean') throw new LinkProtocolError('must be a boolean', 'view.ready');
  const addresses = array(o['addresses'], 'view.addresses').map((a, i) => {
    const text = string(a, `view.addresses[${i}]`);
    if (!isIP(text)) throw new LinkProtocolError('not an IP address', `view.addresses[${i}]`);
    return text;
  });
  const peers = array(o['peers'], 'view.peers').map((p, i) => {
    const at = `view.peers[${i}]`;
    const peer = object(p, at);
    const endpoint = string(peer['endpoint'], `${at}.endpoint`);
    if (!/^127\.\d+\.\d+\.\d+:\d{1,5}$/.test(endpoint))
      throw new LinkProtocolError('not a loopback ip:port', `${at}.endpoint`);
    const counters =
      peer['counters'] === undefined ? undefined : wireCounters(peer['counters'], `${at}.counters`);
    return { key: key(peer['key'], `${at}.key`), endpoint, ...(counters ? { counters } : {}) };
  });
  return { ready: o['ready'], addresses, peers };
}

function wireCounters(value: unknown, at: string): WireCounters {
  const o = object(value, at);
  const n = (name: string) => integer(o[name], `${at}.${name}`, 0);
  const age = (name: string) => (o[name] === undefined ? {} : { [name]: number(o[name], `${at}.${name}`) });
  return {
    txPackets: n('txPackets'),
    txBytes: n('txBytes'),
    txDrops: n('txDrops'),
    rxPackets: n('rxPackets'),
    rxBytes: n('rxBytes'),
    ...age('txAgeMs'),
    ...age('rxAgeMs'),
  };
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new LinkProtocolError('must be an object', field);
  return value as Record<string, unknown>;
}

function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new LinkProtocolError('must be an array', field);
  return value;
}

function string(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new LinkProtocolError('must be a string', field);
  return value;
}

function number(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new LinkProtocolError('must be a non-negative number', field);
  return value;
}

function integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new LinkProtocolError(`must be an integer in ${min}..${max}`, field);
  return value;
}

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    throw new LinkProtocolError(`must be one of ${allowed.join(', ')}`, field);
  return value as T;
}

/** A raw 32-byte WireGuard key in base64 (what WireKubePeer carries). */
function key(value: unknown, field: string): string {
  const text = string(value, field);
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) throw new LinkProtocolError('not a base64 32-byte key', field);
  return text;
}
