import { describe, expect, it } from 'vitest';
import { DEFAULT_RELAY_LINK_SOCKET, OptionsError, parseOptions } from '../src/cli/options.js';

describe('relay-link options (CONTRACTS: the relay link process)', () => {
  it('defaults: spawn, /run/wirekube/relay-link.sock', () => {
    const o = parseOptions(['run', '--node-name', 'n1'], {});
    expect(o.relayLink).toBe('spawn');
    expect(o.relayLinkSocket).toBe(DEFAULT_RELAY_LINK_SOCKET);
    expect(DEFAULT_RELAY_LINK_SOCKET).toBe('/run/wirekube/relay-link.sock');
  });

  it.each([
    [['run', '--node-name', 'n', '--relay-link', 'external'], {}, 'external', DEFAULT_RELAY_LINK_SOCKET],
    [
      ['run', '--node-name', 'n'],
      { WIREKUBE_RELAY_LINK: 'in-process' },
      'in-process',
      DEFAULT_RELAY_LINK_SOCKET,
    ],
    [['run', '--node-name', 'n', '--relay-link-socket', '/x/l.sock'], {}, 'spawn', '/x/l.sock'],
    [['run', '--node-name', 'n'], { WIREKUBE_RELAY_LINK_SOCKET: '/y/l.sock' }, 'spawn', '/y/l.sock'],
    [['relay-link', '--socket', '/z/l.sock'], {}, 'spawn', '/z/l.sock'],
    [['relay-link'], { WIREKUBE_RELAY_LINK_SOCKET: '/e/l.sock' }, 'spawn', '/e/l.sock'],
    [['cleanup', '--relay-link-socket', '/c/l.sock'], {}, 'spawn', '/c/l.sock'],
  ] as const)('%o %o → %s %s', (argv, env, mode, socket) => {
    const o = parseOptions(argv, env);
    expect(o.relayLink).toBe(mode);
    expect(o.relayLinkSocket).toBe(socket);
  });

  it('relay-link needs no node name', () => {
    expect(parseOptions(['relay-link'], {}).command).toBe('relay-link');
  });

  it.each([
    [
      ['run', '--node-name', 'n', '--relay-link', 'sidecar'],
      /--relay-link must be spawn, external, in-process/,
    ],
    [
      ['run', '--node-name', 'n', '--relay-link-socket', 'rel.sock'],
      /--relay-link-socket must be an absolute path/,
    ],
  ])('%o → a named error', (argv, message) => {
    expect(() => parseOptions(argv, {})).toThrow(OptionsError);
    expect(() => parseOptions(argv, {})).toThrow(message);
  });
});
