// The real `wirekube-agent relay-link` command (from source through tsx), started by the agent's spawner: it
// serves the socket detached from us, survives the client going away, stops on request or on SIGTERM with
// exit 0 and removes its socket.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteRelayLink } from '../../src/relay-link/remote.js';
import { relayLinkSpawner } from '../../src/relay-link/spawn.js';
import { stopRelayLink } from '../../src/relay-link/stop.js';
import { silentLog } from '../fakes.js';
import { nodeKeys } from './contract.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const COMMAND = [process.execPath, '--import', 'tsx', MAIN];
let dir = '';
const pids: number[] = [];
afterEach(() => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('relay-link process', () => {
  it('spawned detached; a client detaching leaves it running; stop ends it and removes the socket', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wk-linkp-'));
    const socketPath = join(dir, 'run', 'relay-link.sock');
    const started = await relayLinkSpawner({
      socketPath,
      command: COMMAND,
      logPath: join(dir, 'log'),
      readyTimeoutMs: 100_000,
    })();
    pids.push(started.pid!);
    const link = new RemoteRelayLink({ socketPath, keys: nodeKeys(), log: silentLog });
    await link.set({ peers: [], wireguardPort: 51820 });
    expect(link.pid).toBe(started.pid);
    await link.close();
    expect(alive(started.pid!)).toBe(true);
    const result = await stopRelayLink(socketPath);
    expect(result).toMatchObject({ stopped: true, pid: started.pid, socketRemoved: true });
    for (let i = 0; i < 100 && alive(started.pid!); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(started.pid!)).toBe(false);
    expect(existsSync(socketPath)).toBe(false);
  }, 150_000);

  it('SIGTERM: exits 0 and removes its socket', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wk-linkp-'));
    const socketPath = join(dir, 'relay-link.sock');
    const [program, ...args] = COMMAND;
    const child = spawn(program!, [...args, 'relay-link', '--socket', socketPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    pids.push(child.pid!);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    // tsx start-up takes seconds on a loaded machine.
    for (let i = 0; i < 2_000 && !out.includes('relay-link-started') && child.exitCode === null; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('"component":"wirekube-relay-link"');
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(socketPath)).toBe(false);
  }, 150_000);
});
