// The slice of @msimerson/stun (plain CommonJS, no types of its own) that the lab uses.
declare module '@msimerson/stun' {
  import type { Socket } from 'node:dgram';
  import type { EventEmitter } from 'node:events';

  export interface StunAddress {
    address: string;
    port: number;
    family: 'IPv4' | 'IPv6';
  }

  export interface StunResponse {
    getXorAddress(): StunAddress | undefined;
    getAddress(): StunAddress | undefined;
  }

  export interface StunServer extends EventEmitter {
    close(): void;
  }

  export interface RequestOptions {
    server?: StunServer;
    socket?: Socket;
    timeout?: number;
    maxTimeout?: number;
    retries?: number;
  }

  export function createServer(options: { type: 'udp4' | 'udp6'; socket?: Socket }): StunServer;
  export function request(url: string, options?: RequestOptions): Promise<StunResponse>;

  const stun: { createServer: typeof createServer; request: typeof request };
  export default stun;
}
