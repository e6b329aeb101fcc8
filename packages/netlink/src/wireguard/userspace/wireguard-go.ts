import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessError } from '../../errors.js';
import { startDetached } from '../../process/detached.js';
import type { UapiTransport } from './socket.js';

/** Starts the userspace implementation for an interface; resolves once its UAPI socket answers. */
export interface UserspaceLauncher {
  start(iface: string): Promise<{ pid: number | undefined }>;
}

/**
 * `command` value meaning "another process runs wireguard-go" (e.g. its own DaemonSet, so that it outlives agent
 * restarts): never spawn, wait for its UAPI socket and adopt the interface.
 */
export const EXTERNAL_WIREGUARD_GO = 'none';

export interface WireGuardGoOptions {
  /** Default `wireguard-go`; {@link EXTERNAL_WIREGUARD_GO} adopts one started elsewhere. */
  command?: string;
  /** Where the daemon's output goes (appended); default discarded. */
  logPath?: string;
  /** How long to wait for the socket; default 5000 ms. */
  readyTimeoutMs?: number;
  env?: Record<string, string>;
}

/**
 * Starts `wireguard-go -f <iface>` detached from this process, so that an agent restart leaves the tunnel up
 * (the next agent adopts it through its socket). Foreground mode because the daemonizing default exits
 * before the socket exists, which leaves nothing to wait on.
 */
export function wireguardGoLauncher(
  transport: UapiTransport,
  options: WireGuardGoOptions = {},
): UserspaceLauncher {
  const command = options.command ?? 'wireguard-go';
  const readyTimeoutMs = options.readyTimeoutMs ?? 5000;
  if (command === EXTERNAL_WIREGUARD_GO) return externalWireguardGo(transport, readyTimeoutMs);
  return {
    async start(iface) {
      const started = await startDetached({
        argv: [command, '-f', iface],
        env: { ...process.env, WG_PROCESS_FOREGROUND: '1', ...options.env },
        ...(options.logPath ? { logPath: options.logPath } : {}),
        ready: () => transport.alive(iface),
        readyTimeoutMs,
        pollMs: 20,
      });
      if (started.ok) return { pid: started.pid };
      const reason = started.reason.startsWith('not ready')
        ? `socket ${transport.socketPath(iface)} ${started.reason}`
        : started.reason;
      throw new ProcessError(`${command} for ${iface}: ${reason}`, {
        operation: 'wireguard-go.start',
        iface,
        code: started.code,
        detail: { command, logPath: options.logPath },
      });
    },
  };
}

/** Waits for a wireguard-go that something else starts (or restarts, after its interface was deleted). */
function externalWireguardGo(transport: UapiTransport, readyTimeoutMs: number): UserspaceLauncher {
  return {
    async start(iface) {
      const deadline = Date.now() + readyTimeoutMs;
      while (Date.now() < deadline) {
        if (await transport.alive(iface)) return { pid: undefined };
        await sleep(50);
      }
      throw new ProcessError(
        `no wireguard-go for ${iface}: socket ${transport.socketPath(iface)} not ready after ${readyTimeoutMs} ms (--wireguard-go none waits for one started outside the agent)`,
        { operation: 'wireguard-go.adopt', iface, detail: { command: EXTERNAL_WIREGUARD_GO } },
      );
    },
  };
}
