// The raw baselines of bench/hops.ts: the least Node can do for each hop of the relayed path, in plain Node with
// nothing of ours, each role in its own process. Frames are the core wire format, so every raw part can stand in
// for one of ours on either side (a raw agent talks to our relay, our agent to the raw relay).
//
//   udp-hop <portA> <portB>                  one UDP socket: datagrams from portA go to portB and back
//   agent relay <tcpPort> <ownKey> <peerKey> <wgPort>   UDP ⇄ Data frames over TCP to a relay (Register, core)
//   agent listen 0 <ownKey> <peerKey> <wgPort>          the same, accepting one TCP connection (no relay)
//   agent connect <tcpPort> <ownKey> <peerKey> <wgPort> the same, connecting straight to a listening agent
//   relay                                    routes Data by key, rewriting destination → source in place
//
// Keys are base64. Each prints one JSON line once it is usable ({ port } / { proxyPort, tcpPort }); SIGTERM ends it.
// Per datagram a raw agent allocates its frame and writes it at once, and sends on a connected UDP socket.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';

const HEADER = 4;
const DATA_HEADER = 37;

/** Calls onFrame(buf, start, end) for each whole frame; keeps a partial one for the next chunk. */
function framer(onFrame) {
  let carry = null;
  return (chunk) => {
    let buf = chunk;
    if (carry !== null) {
      buf = Buffer.concat([carry, chunk]);
      carry = null;
    }
    let offset = 0;
    while (buf.length - offset >= HEADER) {
      const end = offset + HEADER + buf.readUInt32BE(offset);
      if (end > buf.length) break;
      onFrame(buf, offset, end);
      offset = end;
    }
    if (offset < buf.length) carry = Buffer.from(buf.subarray(offset));
  };
}

async function udp(port) {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  socket.bind(port ?? 0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

async function udpHop(portA, portB) {
  const socket = await udp();
  socket.on('message', (message, from) => {
    socket.send(message, from.port === portA ? portB : portA, '127.0.0.1');
  });
  console.log(JSON.stringify({ port: socket.address().port }));
}

async function agent(mode, tcpPort, ownKey, peerKey, wgPort) {
  const own = Buffer.from(ownKey, 'base64');
  const peer = Buffer.from(peerKey, 'base64');
  const wg = await udp();
  wg.connect(wgPort, '127.0.0.1');
  await once(wg, 'connect');
  let tcp;
  let server = null;
  if (mode === 'listen') {
    server = createServer({ noDelay: true });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    console.log(JSON.stringify({ proxyPort: wg.address().port, tcpPort: server.address().port }));
    [tcp] = await once(server, 'connection');
  } else {
    tcp = connect({ host: '127.0.0.1', port: tcpPort, noDelay: true });
    await once(tcp, 'connect');
    if (mode === 'relay') {
      const register = Buffer.alloc(HEADER + 1 + 32);
      register.writeUInt32BE(33, 0);
      register[4] = 0x01;
      own.copy(register, 5);
      tcp.write(register);
    }
    console.log(JSON.stringify({ proxyPort: wg.address().port }));
  }
  tcp.setNoDelay(true);
  tcp.on('error', () => undefined);
  wg.on('message', (message) => {
    const frame = Buffer.allocUnsafe(DATA_HEADER + message.length);
    frame.writeUInt32BE(1 + 32 + message.length, 0);
    frame[4] = 0x02;
    peer.copy(frame, 5);
    message.copy(frame, DATA_HEADER);
    tcp.write(frame);
  });
  tcp.on(
    'data',
    framer((buf, start, end) => {
      if (buf[start + HEADER] === 0x02 && end - start > DATA_HEADER)
        wg.send(buf.subarray(start + DATA_HEADER, end));
    }),
  );
}

async function relay() {
  const routes = new Map();
  const server = createServer({ noDelay: true }, (socket) => {
    let own = null;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (own !== null && routes.get(own.toString('latin1')) === socket)
        routes.delete(own.toString('latin1'));
    });
    socket.on(
      'data',
      framer((buf, start, end) => {
        const type = buf[start + HEADER];
        if (type === 0x01 && end - start === HEADER + 33) {
          own = Buffer.from(buf.subarray(start + 5, end));
          routes.set(own.toString('latin1'), socket);
        } else if (type === 0x02 && own !== null && end - start >= DATA_HEADER) {
          const target = routes.get(buf.toString('latin1', start + 5, start + DATA_HEADER));
          if (target === undefined) return;
          own.copy(buf, start + 5);
          target.write(buf.subarray(start, end));
        }
      }),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  console.log(JSON.stringify({ port: server.address().port }));
}

process.on('SIGTERM', () => process.exit(0));
const [role, ...args] = process.argv.slice(2);
if (role === 'udp-hop') await udpHop(Number(args[0]), Number(args[1]));
else if (role === 'agent') await agent(args[0], Number(args[1]), args[2], args[3], Number(args[4]));
else if (role === 'relay') await relay();
else throw new Error(`unknown role ${role}`);
