// Load generation and measurement for the benchmark: senders and receivers of 1400-byte datagrams in Data frames,
// against either the relay (register, then send) or the pass-through baseline (bytes only).
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { generateRawKeyPair } from '../src/auth/keys.js';
import { encodeData, encodeRegister } from '../src/codec/frame.js';

export const DATAGRAM_SIZE = 1400;
export const FRAME_SIZE = 5 + 32 + DATAGRAM_SIZE;

export type Target = { kind: 'relay' | 'baseline'; port: number; pid: number };
export type WriteMode = 'batched' | 'per-frame';

export interface Pair {
  sender: Socket;
  receiver: Socket;
  receiverKey: Buffer;
  /** Bytes the sender handed to its socket, and bytes the receiver got, over the pair's whole life. */
  sentBytes: number;
  receivedBytes: number;
}

/** User + system CPU seconds a process has used (Linux /proc, 100 ticks per second). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function open(port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  await once(socket, 'connect');
  socket.on('error', () => undefined);
  return socket;
}

export async function openPairs(target: Target, count: number): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (let i = 0; i < count; i++) {
    // Receiver first: the baseline pairs connections in accept order.
    const receiver = await open(target.port);
    const sender = await open(target.port);
    const receiverKey = generateRawKeyPair().publicKey;
    if (target.kind === 'relay') {
      receiver.write(encodeRegister(receiverKey));
      sender.write(encodeRegister(generateRawKeyPair().publicKey));
    }
    const pair: Pair = { sender, receiver, receiverKey, sentBytes: 0, receivedBytes: 0 };
    receiver.on('data', (chunk: Buffer) => {
      pair.receivedBytes += chunk.length;
    });
    pairs.push(pair);
  }
  if (target.kind === 'relay') await new Promise((resolve) => setTimeout(resolve, 100));
  return pairs;
}

/**
 * Senders first; each receiver only once every byte its sender wrote has arrived. A fixed grace was not enough:
 * with 16 pairs the forwarder's socket buffers still held megabytes after 200 ms on a loaded machine, and closing
 * the receivers then made the relay count the rest as no_route drops. Bounded by `timeoutMs` in case a forwarder
 * really dropped something (the drop counters then say so).
 */
export async function closePairs(pairs: Pair[], timeoutMs = 10_000): Promise<void> {
  for (const pair of pairs) pair.sender.end();
  const deadline = performance.now() + timeoutMs;
  while (pairs.some((pair) => pair.receivedBytes < pair.sentBytes) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  for (const pair of pairs) {
    pair.sender.destroy();
    pair.receiver.destroy();
  }
}

/** Sends as fast as TCP allows for `seconds` after `warmup` seconds; returns bytes received in the window. */
export async function measureThroughput(
  pairs: Pair[],
  mode: WriteMode,
  seconds: number,
  warmup: number,
  forwarderPid: number,
): Promise<{ bytes: number; seconds: number; cpuSeconds: number }> {
  let running = true;
  const receivedSoFar = () => pairs.reduce((sum, pair) => sum + pair.receivedBytes, 0);
  const senders = pairs.map((pair) => pump(pair, mode, () => running));
  await new Promise((resolve) => setTimeout(resolve, warmup * 1000));
  const receivedAtStart = receivedSoFar();
  const cpuStart = cpuSecondsOf(forwarderPid);
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const received = receivedSoFar() - receivedAtStart;
  const elapsed = (performance.now() - start) / 1000;
  const cpuSeconds = cpuSecondsOf(forwarderPid) - cpuStart;
  running = false;
  await Promise.all(senders);
  return { bytes: received, seconds: elapsed, cpuSeconds };
}

async function pump(pair: Pair, mode: WriteMode, running: () => boolean): Promise<void> {
  const frame = encodeData(pair.receiverKey, Buffer.alloc(DATAGRAM_SIZE, 0x5a));
  const batch = Buffer.concat(Array.from({ length: 32 }, () => frame));
  const socket = pair.sender;
  while (running() && !socket.destroyed) {
    let ok = true;
    if (mode === 'batched') {
      ok = socket.write(batch);
      pair.sentBytes += batch.length;
    } else {
      // Fresh buffer per write, as a client framing each datagram would produce.
      for (let i = 0; i < 32 && ok; i++) {
        ok = socket.write(encodeData(pair.receiverKey, frame.subarray(37)));
        pair.sentBytes += frame.length;
      }
    }
    if (!ok) await once(socket, 'drain');
    else await new Promise((resolve) => setImmediate(resolve));
  }
}

/** One frame every `intervalMs`, timestamped; returns per-frame one-way latencies in microseconds. */
export async function measureLatency(pair: Pair, frames: number, intervalMs: number): Promise<number[]> {
  const latencies: number[] = [];
  let carry: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    const now = performance.now();
    carry = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    while (carry.length >= FRAME_SIZE) {
      latencies.push((now - carry.readDoubleBE(37)) * 1000);
      carry = carry.subarray(FRAME_SIZE);
    }
  };
  pair.receiver.on('data', onData);
  const payload = Buffer.alloc(DATAGRAM_SIZE);
  for (let i = 0; i < frames; i++) {
    payload.writeDoubleBE(performance.now(), 0);
    pair.sender.write(encodeData(pair.receiverKey, payload));
    pair.sentBytes += FRAME_SIZE;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  pair.receiver.off('data', onData);
  return latencies;
}
