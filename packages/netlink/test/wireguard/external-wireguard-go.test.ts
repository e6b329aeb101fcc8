import { describe, expect, it } from 'vitest';
import { ProcessError } from '../../src/errors.js';
import type { UapiTransport } from '../../src/wireguard/userspace/socket.js';
import { EXTERNAL_WIREGUARD_GO, wireguardGoLauncher } from '../../src/wireguard/userspace/wireguard-go.js';

/** A socket that starts answering after `aliveAfter` probes, as a wireguard-go started by its own pod does. */
function socketAppearing(aliveAfter: number): UapiTransport & { probes: number } {
  return {
    probes: 0,
    async request() {
      return 'errno=0\n\n';
    },
    async alive() {
      this.probes += 1;
      return this.probes > aliveAfter;
    },
    socketPath: (iface) => `/run/wireguard/${iface}.sock`,
  };
}

describe('--wireguard-go none: adopt a wireguard-go started outside the agent', () => {
  it('spawns nothing and resolves once the socket answers', async () => {
    const transport = socketAppearing(2);
    const launcher = wireguardGoLauncher(transport, { command: EXTERNAL_WIREGUARD_GO, readyTimeoutMs: 2000 });
    await expect(launcher.start('wire_kube')).resolves.toEqual({ pid: undefined });
    expect(transport.probes).toBe(3);
  });

  it('fails with the socket path and the reason when none appears in time', async () => {
    const launcher = wireguardGoLauncher(socketAppearing(Number.POSITIVE_INFINITY), {
      command: EXTERNAL_WIREGUARD_GO,
      readyTimeoutMs: 120,
    });
    const failure = launcher.start('wire_kube');
    await expect(failure).rejects.toBeInstanceOf(ProcessError);
    await expect(failure).rejects.toThrow(/\/run\/wireguard\/wire_kube\.sock not ready after 120 ms/);
  });
});
