import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { crdManifest, gatewayKind, meshKind, peerKind, renderAllCrds } from '../src/index.js';

const crdDir = fileURLToPath(new URL('../../../charts/wirekube/crds/', import.meta.url));

type Json = { [key: string]: unknown };
const versionOf = (crd: Json) => ((crd['spec'] as Json)['versions'] as Json[])[0]!;

describe('generated CRDs', () => {
  it('charts/wirekube/crds is byte-identical to what the schemas generate (run `npm run generate -w @wirekube/crd-types`)', () => {
    const expected = renderAllCrds();
    expect(readdirSync(crdDir).sort()).toEqual([...expected.keys()].sort());
    for (const [file, content] of expected) {
      expect(readFileSync(`${crdDir}${file}`, 'utf8'), file).toBe(content);
    }
  });

  it('are cluster-scoped, served as wirekube.io/v1alpha1, with a status subresource', () => {
    for (const def of [meshKind, peerKind, gatewayKind]) {
      const crd = crdManifest(def) as Json;
      expect((crd['metadata'] as Json)['name']).toBe(`${def.plural}.wirekube.io`);
      expect((crd['spec'] as Json)['scope']).toBe('Cluster');
      expect((crd['spec'] as Json)['group']).toBe('wirekube.io');
      const version = versionOf(crd);
      expect(version['name']).toBe('v1alpha1');
      expect(version['subresources']).toEqual({ status: {} });
    }
  });

  it('print NAT and Mode for peers, and ACTIVE READY ROUTES AGE with short name wkgw for gateways', () => {
    const peerColumns = versionOf(crdManifest(peerKind) as Json)['additionalPrinterColumns'] as Json[];
    expect(peerColumns).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'NAT', jsonPath: '.status.natType' }),
        expect.objectContaining({ name: 'Mode', jsonPath: '.status.transportMode' }),
      ]),
    );
    const gw = crdManifest(gatewayKind) as Json;
    expect(((gw['spec'] as Json)['names'] as Json)['shortNames']).toEqual(['wkgw']);
    const gwColumns = versionOf(gw)['additionalPrinterColumns'] as Json[];
    expect(gwColumns.map((c) => [c['name'], c['jsonPath']])).toEqual([
      ['Active', '.status.activePeer'],
      ['Ready', '.status.ready'],
      ['Routes', '.status.routesInjected'],
      ['Age', '.metadata.creationTimestamp'],
    ]);
  });

  it('contain only what a structural schema allows', () => {
    const forbidden = ['$id', '$ref', 'anyOf', 'const', 'patternProperties', '$schema'];
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== 'object' || node === null) return;
      for (const [key, value] of Object.entries(node)) {
        expect(forbidden, `${path}.${key}`).not.toContain(key);
        if (key === 'additionalProperties') expect(typeof value, `${path}.${key}`).toBe('object');
        if (key === 'properties' || key === 'additionalProperties') {
          expect((node as Json)['type'], `${path} has properties so must be an object`).toBe('object');
        }
        walk(value, `${path}.${key}`);
      }
    };
    for (const [file, content] of renderAllCrds()) walk(parse(content), file);
  });

  it('carry the CEL rule and the seed defaults', () => {
    const schema = (versionOf(crdManifest(meshKind) as Json)['schema'] as Json)['openAPIV3Schema'] as Json;
    const spec = (schema['properties'] as Json)['spec'] as Json;
    const relay = (spec['properties'] as Json)['relay'] as Json;
    expect(relay['x-kubernetes-validations']).toEqual([
      expect.objectContaining({ fieldPath: '.external.endpoint', reason: 'FieldValueRequired' }),
    ]);
    expect(((spec['properties'] as Json)['listenPort'] as Json)['default']).toBe(51820);
    expect((relay['properties'] as Json)['mode'] as Json).toEqual(
      expect.objectContaining({ type: 'string', enum: ['auto', 'always', 'never'], default: 'auto' }),
    );
  });
});
