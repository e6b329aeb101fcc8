import { describe, expect, it } from 'vitest';
import {
  decodeReply,
  decodeRequest,
  encode,
  LinkProtocolError,
  type LinkReply,
  type LinkRequest,
} from '../../src/relay-link/protocol.js';

const KEY = 'hN5mQ1cV4yR0h3W0kZb6Gm3l1n7GdQb8t4Xv9p2JqWs=';
const target = { host: '192.0.2.1', port: 3478, pool: false, source: 'external' };
const desired = { target, peers: [KEY], wireguardPort: 51820 };
const keys = { publicKey: KEY, privateKey: KEY };

describe('relay-link protocol', () => {
  it('round-trips every request and reply', () => {
    const requests: LinkRequest[] = [
      { type: 'hello', version: 1 },
      { type: 'set', desired: desired as never, keys },
      { type: 'set', desired: { peers: [], wireguardPort: 1 }, keys },
      { type: 'view' },
      { type: 'stop' },
    ];
    for (const r of requests) expect(decodeRequest(encode(r).trim())).toEqual(r);
    const replies: LinkReply[] = [
      { type: 'hello', version: 1, pid: 42 },
      {
        type: 'view',
        view: {
          ready: true,
          addresses: ['192.0.2.1'],
          peers: [
            {
              key: KEY,
              endpoint: '127.0.0.1:40001',
              counters: { txPackets: 1, txBytes: 2, txDrops: 0, rxPackets: 3, rxBytes: 4, rxAgeMs: 12.5 },
            },
          ],
        },
      },
      { type: 'stopping' },
      { type: 'error', code: 'set-failed', message: 'boom' },
    ];
    for (const r of replies) expect(decodeReply(encode(r).trim())).toEqual(r);
  });

  // Bad input → a typed error naming the field.
  const badRequests: Array<[string, unknown, string]> = [
    ['not JSON', 'nope', 'message'],
    ['an array', [], 'message'],
    ['unknown type', { type: 'launch' }, 'type'],
    ['hello without version', { type: 'hello' }, 'version'],
    ['hello version 0', { type: 'hello', version: 0 }, 'version'],
    ['set without desired', { type: 'set', keys }, 'desired'],
    ['peers not an array', { type: 'set', desired: { ...desired, peers: 'x' }, keys }, 'desired.peers'],
    [
      'a peer not a key',
      { type: 'set', desired: { ...desired, peers: [KEY, 'abc'] }, keys },
      'desired.peers[1]',
    ],
    ['port 0', { type: 'set', desired: { ...desired, wireguardPort: 0 }, keys }, 'desired.wireguardPort'],
    [
      'port text',
      { type: 'set', desired: { ...desired, wireguardPort: '1' }, keys },
      'desired.wireguardPort',
    ],
    [
      'target host',
      { type: 'set', desired: { ...desired, target: { ...target, host: 'a b' } }, keys },
      'desired.target.host',
    ],
    [
      'target port',
      { type: 'set', desired: { ...desired, target: { ...target, port: 70000 } }, keys },
      'desired.target.port',
    ],
    [
      'target pool',
      { type: 'set', desired: { ...desired, target: { ...target, pool: 'no' } }, keys },
      'desired.target.pool',
    ],
    [
      'target source',
      { type: 'set', desired: { ...desired, target: { ...target, source: 'dns' } }, keys },
      'desired.target.source',
    ],
    ['keys missing', { type: 'set', desired }, 'keys'],
    ['private key bad', { type: 'set', desired, keys: { ...keys, privateKey: 'x' } }, 'keys.privateKey'],
  ];
  it.each(badRequests)('request: %s → names %s', (_name, value, field) => {
    const line = typeof value === 'string' ? value : JSON.stringify(value);
    let error: unknown;
    try {
      decodeRequest(line);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LinkProtocolError);
    expect((error as LinkProtocolError).field).toBe(field);
    expect((error as Error).message).toContain(field);
  });

  const view = { ready: true, addresses: [], peers: [] };
  const badReplies: Array<[string, unknown, string]> = [
    ['hello pid', { type: 'hello', version: 1, pid: -1 }, 'pid'],
    ['view ready', { type: 'view', view: { ...view, ready: 1 } }, 'view.ready'],
    ['view address', { type: 'view', view: { ...view, addresses: ['relay'] } }, 'view.addresses[0]'],
    [
      'view endpoint',
      { type: 'view', view: { ...view, peers: [{ key: KEY, endpoint: '10.0.0.1:1' }] } },
      'view.peers[0].endpoint',
    ],
    [
      'view counter',
      {
        type: 'view',
        view: { ...view, peers: [{ key: KEY, endpoint: '127.0.0.1:1', counters: { txPackets: -1 } }] },
      },
      'view.peers[0].counters.txPackets',
    ],
    ['error code', { type: 'error', code: 'weird', message: '' }, 'code'],
  ];
  it.each(badReplies)('reply: %s → names %s', (_name, value, field) => {
    expect(() => decodeReply(JSON.stringify(value))).toThrow(expect.objectContaining({ field }));
  });
});
