import { Type } from '@sinclair/typebox';
import { stringify } from 'yaml';
import { GROUP, VERSION } from '../constants.js';
import { KINDS, type KindDefinition } from '../kinds.js';
import { toKubernetesSchema } from './kubernetes-schema.js';

/** The CustomResourceDefinition object for one kind. */
export function crdManifest(def: KindDefinition): Record<string, unknown> {
  const root = Type.Object(
    {
      apiVersion: Type.Optional(
        Type.String({ description: 'APIVersion defines the versioned schema of this object.' }),
      ),
      kind: Type.Optional(
        Type.String({ description: 'Kind is a string value representing the REST resource.' }),
      ),
      metadata: Type.Optional(Type.Unsafe<Record<string, unknown>>({ type: 'object' })),
      spec: def.specRequired ? def.spec : Type.Optional(def.spec),
      status: Type.Optional(def.status),
    },
    { description: def.description },
  );
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${def.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'wirekube', 'app.kubernetes.io/part-of': 'wirekube' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: def.listKind,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: ['wirekube'],
      },
      scope: 'Cluster',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: { openAPIV3Schema: toKubernetesSchema(root) },
        },
      ],
    },
  };
}

const HEADER =
  '# Generated from packages/crd-types/src/schema by `npm run generate -w @wirekube/crd-types`. Do not edit.\n';

export function renderCrdYaml(def: KindDefinition): string {
  return HEADER + stringify(crdManifest(def), { lineWidth: 0 });
}

/** File name under charts/wirekube/crds for each kind, in the form `<group>_<plural>.yaml`. */
export function crdFileName(def: KindDefinition): string {
  return `${GROUP}_${def.plural}.yaml`;
}

/** Every CRD file the chart ships: file name → content. */
export function renderAllCrds(): Map<string, string> {
  return new Map(Object.values(KINDS).map((def) => [crdFileName(def), renderCrdYaml(def)]));
}
