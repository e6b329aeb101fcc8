import { describe, expect, it } from 'vitest';
import { assertValid, KINDS, type KindName, validate, WireKubeValidationError } from '../src/index.js';
import { seedExample, VIOLATIONS } from '../src/testing/index.js';

const kinds = Object.keys(KINDS) as KindName[];

describe('seed examples', () => {
  it.each(kinds)('the %s example from the seed validates', (kind) => {
    expect(validate(kind, seedExample(kind))).toEqual([]);
  });

  it('a mesh with no spec at all is valid (every field has a default)', () => {
    expect(
      validate('WireKubeMesh', {
        apiVersion: 'wirekube.io/v1alpha1',
        kind: 'WireKubeMesh',
        metadata: { name: 'default' },
      }),
    ).toEqual([]);
  });
});

describe('every stated constraint rejects a breaking input and names the field', () => {
  it.each(VIOLATIONS.map((v) => [v.name, v] as const))('%s', (_name, violation) => {
    const errors = validate(violation.kind, violation.object);
    expect(errors.map((e) => e.field)).toContain(violation.field);
  });
});

describe('validate', () => {
  it('reports an unknown field instead of dropping it silently', () => {
    const mesh = seedExample('WireKubeMesh');
    (mesh['spec'] as Record<string, unknown>)['listenport'] = 51820;
    expect(validate('WireKubeMesh', mesh)).toEqual([{ field: 'spec.listenport', message: 'unknown field' }]);
  });

  it('reports every error, not just the first', () => {
    const peer = seedExample('WireKubePeer');
    peer['spec'] = { endpoint: 'nope', persistentKeepalive: -5 };
    const fields = validate('WireKubePeer', peer).map((e) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining(['spec.publicKey', 'spec.endpoint', 'spec.persistentKeepalive']),
    );
  });

  it('writes messages an operator can act on', () => {
    const mesh = seedExample('WireKubeMesh');
    (mesh['spec'] as Record<string, unknown>)['stunServers'] = ['a:1'];
    (mesh['spec'] as { relay: Record<string, unknown> }).relay['mode'] = 'sometimes';
    expect(validate('WireKubeMesh', mesh)).toEqual([
      {
        field: 'spec.relay.mode',
        message: 'Unsupported value: "sometimes": supported values: "auto", "always", "never"',
      },
      { field: 'spec.stunServers', message: 'should have at least 2 items' },
    ]);
  });

  it('evaluates the CEL rule from the schema: external provider needs an endpoint', () => {
    const spec = { relay: { provider: 'external' } };
    expect(validate('WireKubeMesh', { spec })).toEqual([
      {
        field: 'spec.relay.external.endpoint',
        message: 'external.endpoint is required when provider is external',
      },
    ]);
    expect(
      validate('WireKubeMesh', {
        spec: { relay: { provider: 'external', external: { endpoint: 'r.example:3478' } } },
      }),
    ).toEqual([]);
    expect(validate('WireKubeMesh', { spec: { relay: { provider: 'managed' } } })).toEqual([]);
  });

  it('rejects a wrong apiVersion or kind and non-objects', () => {
    expect(
      validate('WireKubePeer', { ...seedExample('WireKubePeer'), kind: 'WireKubeMesh' }).map((e) => e.field),
    ).toEqual(['kind']);
    expect(
      validate('WireKubePeer', { ...seedExample('WireKubePeer'), apiVersion: 'v1' }).map((e) => e.field),
    ).toEqual(['apiVersion']);
    expect(validate('WireKubePeer', 'peer')).toEqual([
      { field: '<root>', message: 'must be an object, got "peer"' },
    ]);
  });

  it('rejects a DNS-name peer endpoint with a message that names the field and says why', () => {
    const peer = seedExample('WireKubePeer');
    (peer['spec'] as Record<string, unknown>)['endpoint'] = 'node1.example.com:51820';
    expect(validate('WireKubePeer', peer)).toEqual([
      {
        field: 'spec.endpoint',
        message:
          'endpoint must be an IP address and port (203.0.113.5:51820 or [2001:db8::5]:51820); DNS names are not resolved',
      },
    ]);
    for (const ok of ['203.0.113.5:51820', '[2001:db8::5]:51820', '[::ffff:192.0.2.1]:1']) {
      (peer['spec'] as Record<string, unknown>)['endpoint'] = ok;
      expect(validate('WireKubePeer', peer)).toEqual([]);
    }
  });

  it('accepts IPv6 allowedIPs and endpoints', () => {
    const peer = seedExample('WireKubePeer');
    peer['spec'] = {
      publicKey: 'k',
      endpoint: '[2001:db8::1]:51820',
      allowedIPs: ['2001:db8::1/128', '10.0.0.5/32'],
    };
    expect(validate('WireKubePeer', peer)).toEqual([]);
  });

  it('accepts a complete, valid peer status', () => {
    const peer = seedExample('WireKubePeer');
    peer['status'] = {
      connected: true,
      natType: '',
      transportMode: 'mixed',
      peerTransports: { 'node-a': 'direct', 'node-b': 'relay' },
      endpointDiscoveryMethod: 'aws-imds',
      lastHandshake: '2026-11-23T01:02:03Z',
    };
    expect(validate('WireKubePeer', peer)).toEqual([]);
  });

  it('assertValid throws a typed error carrying every field error', () => {
    const gw = seedExample('WireKubeGateway');
    gw['spec'] = { peerRefs: [] };
    const thrown = (() => {
      try {
        assertValid('WireKubeGateway', gw);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(WireKubeValidationError);
    const error = thrown as WireKubeValidationError;
    expect(error.kind).toBe('WireKubeGateway');
    expect(error.objectName).toBe('vpc-b-gateway');
    expect(error.errors.map((e) => e.field)).toEqual(['spec.peerRefs', 'spec.routes']);
    expect(error.message).toContain('WireKubeGateway "vpc-b-gateway" is invalid: spec.peerRefs');
  });
});
