/** What the UDP proxy needs from a relay connection: the client and the pool both provide it. */
export type DataListener = (source: Buffer, datagram: Buffer) => void;
/** A Control message from another agent: `fromKey` is its public key. Views into the received bytes. */
export type ControlListener = (fromKey: Buffer, payload: Buffer) => void;

export interface RelayTransport {
  /** Frames `datagram` for `destination` (a 32-byte public key). False when it was dropped (not connected, or the
   * send queue is full): UDP semantics, WireGuard retransmits. */
  send(destination: Uint8Array, datagram: Uint8Array): boolean;
  /** Data frames from the relay: `source` is the sender's public key. The buffers are views into the received
   * bytes; copy them to keep them past the call. Returns an unsubscribe function. */
  onData(listener: DataListener): () => void;
}
