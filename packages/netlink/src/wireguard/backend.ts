import type { Logger } from 'pino';
import { planDevice } from './diff.js';
import type {
  ApplyOptions,
  ApplyResult,
  DesiredDevice,
  DeviceState,
  DeviceUpdate,
  WireGuardBackendKind,
} from './types.js';
import { validateDesiredDevice, validateDeviceUpdate } from './validate.js';

/**
 * What a backend must do, and nothing more: read a device, write one set operation, create and delete the
 * interface. Validation and diffing live above this line, once, for both backends.
 */
export interface WireGuardDeviceIO {
  readonly kind: WireGuardBackendKind;
  read(iface: string): Promise<DeviceState>;
  write(iface: string, update: DeviceUpdate): Promise<void>;
  exists(iface: string): Promise<boolean>;
  /** Creates the interface; `pid` is the userspace daemon's, when one was started. */
  create(iface: string): Promise<{ pid?: number }>;
  delete(iface: string): Promise<void>;
  close(): Promise<void>;
}

/** The WireGuard surface the agent programs, identical for the kernel and the userspace implementation. */
export interface WireGuardBackend {
  readonly kind: WireGuardBackendKind;
  /** The device with per-peer state (endpoint, last handshake, rx/tx bytes, allowed IPs). */
  getDevice(iface: string): Promise<DeviceState>;
  /** Like getDevice, but undefined when there is no such interface (or no daemon answering for it). */
  findDevice(iface: string): Promise<DeviceState | undefined>;
  /** Diff-based apply: validates `desired`, changes only what differs; sends nothing when it already matches. */
  applyDevice(iface: string, desired: DesiredDevice, options?: ApplyOptions): Promise<ApplyResult>;
  /** One raw, validated set operation (for callers that know exactly what to send). */
  setDevice(iface: string, update: DeviceUpdate): Promise<void>;
  /**
   * Creates the interface (kernel link, or a detached wireguard-go process that outlives this one) unless it
   * exists; an existing one is adopted as it is.
   */
  ensureInterface(iface: string): Promise<{ created: boolean; pid?: number }>;
  /** Deletes the interface; false when there was none. */
  deleteInterface(iface: string): Promise<boolean>;
  interfaceExists(iface: string): Promise<boolean>;
  close(): Promise<void>;
}

/** The one implementation of WireGuardBackend; the backends differ only in their WireGuardDeviceIO. */
export class WireGuard implements WireGuardBackend {
  readonly kind: WireGuardBackendKind;

  private readonly logger: Logger | undefined;
  private readonly onClose: (() => Promise<void>) | undefined;
  /** Interfaces already reported as adopted by this backend. */
  private readonly adopted = new Set<string>();

  constructor(
    private readonly io: WireGuardDeviceIO,
    options: { logger?: Logger; onClose?: () => Promise<void> } = {},
  ) {
    this.kind = io.kind;
    this.logger = options.logger;
    this.onClose = options.onClose;
  }

  getDevice(iface: string): Promise<DeviceState> {
    return this.io.read(iface);
  }

  async findDevice(iface: string): Promise<DeviceState | undefined> {
    if (!(await this.io.exists(iface))) return undefined;
    return this.io.read(iface);
  }

  async applyDevice(iface: string, desired: DesiredDevice, options: ApplyOptions = {}): Promise<ApplyResult> {
    validateDesiredDevice(iface, desired);
    const actual = options.actual ?? (await this.io.read(iface));
    const { update, result } = planDevice(actual, desired, options);
    for (const kept of result.keptRoamedEndpoints) {
      this.logger?.debug({ event: 'wireguard-endpoint-roamed', iface, peer: kept.publicKey, ...kept });
    }
    if (!update) return result;
    await this.io.write(iface, update);
    this.logger?.info({
      event: 'wireguard-applied',
      iface,
      backend: this.kind,
      device: result.device,
      added: result.added,
      removed: result.removed,
      updated: result.updated,
    });
    return result;
  }

  async setDevice(iface: string, update: DeviceUpdate): Promise<void> {
    validateDeviceUpdate(iface, update);
    await this.io.write(iface, update);
  }

  async ensureInterface(iface: string): Promise<{ created: boolean; pid?: number }> {
    if (await this.io.exists(iface)) {
      // The agent ensures the interface on every pass: adoption is news once per interface, not every pass.
      const level = this.adopted.has(iface) ? 'debug' : 'info';
      this.adopted.add(iface);
      this.logger?.[level]({ event: 'wireguard-interface-adopted', iface, backend: this.kind });
      return { created: false };
    }
    this.adopted.delete(iface);
    const { pid } = await this.io.create(iface);
    this.logger?.info({ event: 'wireguard-interface-created', iface, backend: this.kind, pid });
    return pid === undefined ? { created: true } : { created: true, pid };
  }

  async deleteInterface(iface: string): Promise<boolean> {
    if (!(await this.io.exists(iface))) return false;
    await this.io.delete(iface);
    this.logger?.info({ event: 'wireguard-interface-deleted', iface, backend: this.kind });
    return true;
  }

  interfaceExists(iface: string): Promise<boolean> {
    return this.io.exists(iface);
  }

  async close(): Promise<void> {
    await this.io.close();
    await this.onClose?.();
  }
}
