// What the rtnetlink classes hand to the socket, checked against a recording fake (the real kernel is in the
// lab tests): tables above 255 in RTA_TABLE, `src` as RTA_PREFSRC, wildcard deletes, create/replace flags.
import { describe, expect, it } from 'vitest';
import { NetlinkError } from '../../src/errors.js';
import { Links } from '../../src/rtnl/links.js';
import { Routes } from '../../src/rtnl/routes.js';
import { Rules } from '../../src/rtnl/rules.js';
import type { RtnlSocket } from '../../src/rtnl/socket.js';

type Call = { method: string; data: unknown; attrs: unknown; options: unknown };

function recordingSocket(replies: Partial<Record<keyof RtnlSocket, unknown[]>> = {}) {
  const calls: Call[] = [];
  const handler = {
    get(_target: object, method: string) {
      return async (data: unknown, attrs: unknown, options: unknown) => {
        calls.push({ method, data, attrs, options });
        const reply = replies[method as keyof RtnlSocket];
        if (reply instanceof Error) throw reply;
        return reply ?? [];
      };
    },
  };
  return { socket: new Proxy({}, handler) as RtnlSocket, calls };
}

const wg = {
  kind: 'link',
  data: { index: 7, flags: { up: true } },
  attrs: { ifname: 'wire_kube', mtu: 1420 },
};

describe('rtnetlink requests', () => {
  it('replaces a route in table 22347 with src: RTA_TABLE, prefsrc, link scope, CREATE|REPLACE', async () => {
    const { socket, calls } = recordingSocket({ getLinks: [wg] });
    const routes = new Routes(socket, new Links(socket));
    await routes.replace({ dst: '10.0.0.5/32', table: 22347, dev: 'wire_kube', src: '10.0.0.1' });
    const call = calls.find((c) => c.method === 'newRoute') as Call;
    expect(call.data).toEqual({
      family: 2,
      dstLen: 32,
      table: 0,
      protocol: 4,
      scope: 'LINK',
      type: 'UNICAST',
    });
    expect(call.attrs).toEqual({
      table: 22347,
      dst: Buffer.from([10, 0, 0, 5]),
      oif: 7,
      prefsrc: Buffer.from([10, 0, 0, 1]),
    });
    expect(call.options).toEqual({ flags: 0x400 | 0x100 });
  });

  it('refuses a destination with host bits, before sending anything', async () => {
    const { socket, calls } = recordingSocket({ getLinks: [wg] });
    const error = await new Routes(socket, new Links(socket))
      .replace({ dst: '10.0.0.5/24', table: 22347, dev: 'wire_kube' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetlinkError);
    expect(error).toMatchObject({ operation: 'route.replace', code: 'EINVAL' });
    expect(calls.some((c) => c.method === 'newRoute')).toBe(false);
  });

  it('adds a fwmark rule and a suppress_prefixlength rule with CREATE|EXCL', async () => {
    const { socket, calls } = recordingSocket();
    const rules = new Rules(socket);
    await rules.add({ priority: 199, table: 254, fwmark: 0x574b });
    await rules.add({ priority: 198, table: 254, suppressPrefixLength: 0 });
    const [fwmark, suppress] = calls.filter((c) => c.method === 'newRule');
    expect(fwmark).toMatchObject({
      data: { family: 2, table: 254, action: 'toTbl' },
      attrs: { priority: 199, table: 254, fwmark: 0x574b, fwmask: 0xffffffff },
      options: { flags: 0x400 | 0x200 },
    });
    expect(suppress?.attrs).toMatchObject({ suppressPrefixlen: Buffer.alloc(4) });
  });

  it('turns a kernel refusal into a NetlinkError with operation and errno', async () => {
    const { socket } = recordingSocket({
      getLinks: [],
      newLink: new Error('Request rejected: EEXIST') as never,
    });
    const error = await new Links(socket).create('wire_kube', 'wireguard').catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'NetlinkError',
      operation: 'link.create',
      errno: 17,
      code: 'EEXIST',
      iface: 'wire_kube',
    });
  });
});
