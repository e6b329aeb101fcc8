// The test process's side of dataplane-server.ts: a Dataplane whose every call runs in a lab host.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApplySummary, Dataplane, DesiredNode, DeviceSnapshot } from '@wirekube/agent';
import type { LabHost, LabProcess } from '../../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');

export class RemoteDataplane implements Dataplane {
  private nextId = 1;
  private buffered = '';
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  private constructor(
    readonly backend: 'kernel' | 'userspace',
    private readonly socket: Socket,
    private readonly process: LabProcess,
    private readonly dir: string,
  ) {
    socket.on('data', (chunk) => {
      this.buffered += chunk.toString();
      for (let newline = this.buffered.indexOf('\n'); newline >= 0; newline = this.buffered.indexOf('\n')) {
        const reply = JSON.parse(this.buffered.slice(0, newline)) as {
          id: number;
          result?: unknown;
          error?: string;
        };
        this.buffered = this.buffered.slice(newline + 1);
        const waiter = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        if (reply.error !== undefined)
          waiter?.reject(new Error(`in ${this.process.argv.at(-1)}: ${reply.error}`));
        else waiter?.resolve(reply.result === null ? undefined : reply.result);
      }
    });
  }

  /** Starts the server in `host` (tracked by the lab, so killed at teardown even if close() never runs). */
  static async start(host: LabHost): Promise<RemoteDataplane> {
    const dir = mkdtempSync(join(tmpdir(), 'wk-dataplane-'));
    const socketPath = join(dir, 'dataplane.sock');
    const process = host.spawn(['node', '--import', 'tsx', join(here, 'dataplane-server.ts'), socketPath], {
      cwd: repoRoot,
    });
    try {
      const deadline = Date.now() + 30_000;
      while (!existsSync(socketPath)) {
        if (process.done) throw new Error(`dataplane server exited: ${process.output()}`);
        if (Date.now() > deadline) throw new Error(`dataplane server not ready: ${process.output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = connect(socketPath, () => resolve(s));
        s.once('error', reject);
      });
      const remote = new RemoteDataplane('userspace', socket, process, dir);
      const backend = (await remote.call('backend', [])) as 'kernel' | 'userspace';
      return Object.assign(remote, { backend });
    } catch (error) {
      await process.stop(0);
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  private call(method: string, args: unknown[]): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(`${JSON.stringify({ id, method, args })}\n`);
    });
  }

  readDevice(name: string) {
    return this.call('readDevice', [name]) as Promise<DeviceSnapshot | undefined>;
  }
  async createDevice(name: string, mtu: number) {
    await this.call('createDevice', [name, mtu]);
  }
  async deleteDevice(name: string) {
    await this.call('deleteDevice', [name]);
  }
  apply(desired: DesiredNode, device?: DeviceSnapshot) {
    return this.call('apply', device ? [desired, device] : [desired]) as Promise<ApplySummary>;
  }
  hostAddresses(exclude: string) {
    return this.call('hostAddresses', [exclude]) as Promise<string[]>;
  }

  async close(): Promise<void> {
    this.socket.destroy();
    await this.process.stop(2_000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
