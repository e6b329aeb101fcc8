import {
  ApiException,
  CoreV1Api,
  type KubeConfig,
  type V1Node,
  type V1Service,
} from '@kubernetes/client-node';

/** The two reads locating a managed relay needs (RBAC: get services in the namespace; list nodes for NodePort). */
export interface RelayServiceReader {
  getService(namespace: string, name: string): Promise<V1Service | undefined>;
  listNodes(): Promise<V1Node[]>;
}

export class KubeRelayServiceReader implements RelayServiceReader {
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async getService(namespace: string, name: string): Promise<V1Service | undefined> {
    try {
      return await this.core.readNamespacedService({ namespace, name });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }

  async listNodes(): Promise<V1Node[]> {
    return (await this.core.listNode()).items;
  }
}
