import { request } from 'node:http';
import { LabError } from '../errors.js';
import { type Blob, buildImage, type ImageSpec } from './oci.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(method: string, url: string, body?: Buffer, contentType?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (body) {
      headers['content-length'] = body.length;
      headers['content-type'] = contentType ?? 'application/octet-stream';
    }
    const req = request(url, { method, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timeout`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function pushBlob(base: string, repository: string, blob: Blob): Promise<void> {
  if ((await http('HEAD', `${base}/v2/${repository}/blobs/${blob.digest}`)).status === 200) return;
  const start = await http('POST', `${base}/v2/${repository}/blobs/uploads/`);
  const location = start.headers.location;
  if (start.status !== 202 || typeof location !== 'string') {
    throw new LabError(`registry: starting a blob upload to ${repository}: ${start.status} ${start.body}`);
  }
  const url = new URL(location, base);
  url.searchParams.set('digest', blob.digest);
  const done = await http('PUT', url.toString(), blob.content);
  if (done.status !== 201)
    throw new LabError(`registry: uploading ${blob.digest}: ${done.status} ${done.body}`);
}

/**
 * Builds a single-layer image in memory and pushes it as `<repository>:<tag>` to the registry at
 * `registryAddress` (host:port, plain HTTP). Returns the manifest digest.
 */
export async function pushImage(
  registryAddress: string,
  repository: string,
  tag: string,
  spec: ImageSpec,
): Promise<string> {
  const base = `http://${registryAddress}`;
  const image = buildImage(spec);
  await pushBlob(base, repository, image.layer);
  await pushBlob(base, repository, image.config);
  const put = await http(
    'PUT',
    `${base}/v2/${repository}/manifests/${tag}`,
    image.manifest.content,
    image.manifest.mediaType,
  );
  if (put.status !== 201)
    throw new LabError(`registry: pushing ${repository}:${tag}: ${put.status} ${put.body}`);
  return image.manifest.digest;
}
