// A single-layer OCI image made in memory, for the lab's own tiny images (the pod sandbox, test programs):
// no image builder needed. The tar layout (ustar headers) and the OCI manifest/config shapes are the published
// formats; only what containerd needs to run a static binary is filled in.
import { createHash } from 'node:crypto';

export interface ImageFile {
  /** Path inside the image, without a leading slash, e.g. `pause`. */
  path: string;
  content: Buffer;
  /** Default 0o755. */
  mode?: number;
}

export interface ImageSpec {
  files: readonly ImageFile[];
  entrypoint: readonly string[];
  cmd?: readonly string[];
}

export interface Blob {
  digest: string;
  mediaType: string;
  content: Buffer;
}

export interface BuiltImage {
  layer: Blob;
  config: Blob;
  manifest: Blob;
}

const sha256 = (content: Buffer) => `sha256:${createHash('sha256').update(content).digest('hex')}`;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** One ustar header block for a regular file. */
function tarHeader(path: string, size: number, mode: number): Buffer {
  if (Buffer.byteLength(path) > 100) throw new RangeError(`tar path longer than 100 bytes: ${path}`);
  const header = Buffer.alloc(512);
  header.write(path, 0, 'utf8');
  header.write(octal(mode, 8), 100);
  header.write(octal(0, 8), 108); // uid
  header.write(octal(0, 8), 116); // gid
  header.write(octal(size, 12), 124);
  header.write(octal(0, 12), 136); // mtime: reproducible
  header.write('        ', 148); // checksum field counts as spaces while summing
  header.write('0', 156); // regular file
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

export function tarLayer(files: readonly ImageFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    parts.push(tarHeader(file.path, file.content.length, file.mode ?? 0o755), file.content);
    const pad = (512 - (file.content.length % 512)) % 512;
    parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024)); // two zero blocks end the archive
  return Buffer.concat(parts);
}

export function buildImage(spec: ImageSpec): BuiltImage {
  const layerContent = tarLayer(spec.files);
  const layer: Blob = {
    digest: sha256(layerContent),
    mediaType: 'application/vnd.oci.image.layer.v1.tar',
    content: layerContent,
  };
  const configContent = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: [...spec.entrypoint], ...(spec.cmd ? { Cmd: [...spec.cmd] } : {}) },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    }),
  );
  const config: Blob = {
    digest: sha256(configContent),
    mediaType: 'application/vnd.oci.image.config.v1+json',
    content: configContent,
  };
  const manifestContent = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: config.mediaType, digest: config.digest, size: config.content.length },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.content.length }],
    }),
  );
  return {
    layer,
    config,
    manifest: {
      digest: sha256(manifestContent),
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      content: manifestContent,
    },
  };
}
