import { execFile } from 'node:child_process';
import { connect } from 'node:net';

export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  /** Why it failed (empty when ok). */
  error: string;
}

export type ProbeTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'icmp'; host: string };

/** One probe of a health target; never throws. */
export type Prober = (target: ProbeTarget, timeoutMs: number) => Promise<ProbeResult>;

/**
 * `host:port` (or `[v6]:port`) is a TCP connect; a bare address is an ICMP echo. undefined when malformed, so the
 * caller reports the field instead of probing garbage.
 */
export function parseProbeTarget(text: string): ProbeTarget | undefined {
  const bracket = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text);
  const plain = /^([^:\s]+):(\d{1,5})$/.exec(text);
  const match = bracket ?? plain;
  if (match) {
    const port = Number(match[2]);
    return port >= 1 && port <= 65535 ? { kind: 'tcp', host: match[1] as string, port } : undefined;
  }
  if (/^\[?[0-9a-fA-F:.]+\]?$/.test(text) || /^[a-zA-Z0-9.-]+$/.test(text)) {
    return { kind: 'icmp', host: text.replace(/^\[|\]$/g, '') };
  }
  return undefined;
}

/** TCP connect, or one echo through the system `ping` (iputils uses an ICMP datagram socket or NET_RAW). */
export const systemProber: Prober = (target, timeoutMs) =>
  target.kind === 'tcp' ? tcpProbe(target.host, target.port, timeoutMs) : pingProbe(target.host, timeoutMs);

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (error: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: error === '', latencyMs: performance.now() - started, error });
    };
    const timer = setTimeout(
      () => done(`connect to ${host}:${port} timed out after ${timeoutMs} ms`),
      timeoutMs,
    );
    socket.once('connect', () => done(''));
    socket.once('error', (e: NodeJS.ErrnoException) =>
      done(`connect to ${host}:${port}: ${e.code ?? e.message}`),
    );
  });
}

function pingProbe(host: string, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  const args = ['-n', '-q', '-c', '1', '-W', seconds, ...(host.includes(':') ? ['-6'] : []), host];
  return new Promise((resolve) => {
    execFile('ping', args, { timeout: timeoutMs + 1000 }, (error, stdout) => {
      const latencyMs = performance.now() - started;
      if (!error) return resolve({ ok: true, latencyMs, error: '' });
      const reason = / 0 received/.test(stdout) ? 'no echo reply' : error.message.split('\n')[0];
      resolve({ ok: false, latencyMs, error: `ping ${host}: ${reason}` });
    });
  });
}
