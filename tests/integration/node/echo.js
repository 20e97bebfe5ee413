// net module: `echo.js server PORT` echoes every connection back (printing
// its address when listening); `echo.js client PORT BYTES` sends BYTES
// random bytes, half-closes, and checks that the same bytes come back.
'use strict';
const net = require('net');
const crypto = require('crypto');

const [mode, portArg, bytesArg] = process.argv.slice(2);
const port = Number(portArg);

if (mode === 'server') {
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    sock.pipe(sock);
  });
  server.listen(port, '127.0.0.1', () => console.log(JSON.stringify(server.address())));
  process.on('SIGTERM', () => process.exit(0));
} else {
  const data = crypto.randomBytes(Number(bytesArg));
  const received = [];
  const sock = net.connect({ host: '127.0.0.1', port }, () => {
    sock.end(data);
  });
  sock.setNoDelay(true);
  sock.setKeepAlive(true, 1000);
  sock.on('data', (c) => received.push(c));
  sock.on('end', () => {
    const back = Buffer.concat(received);
    if (!back.equals(data)) {
      console.error(`echo mismatch: sent ${data.length}, got ${back.length}`);
      process.exit(1);
    }
    console.log(JSON.stringify({ bytes: back.length, remotePort: sock.remotePort, remoteAddress: sock.remoteAddress }));
  });
  sock.on('error', (e) => {
    console.error(`client error: ${e.stack || e}`);
    process.exit(1);
  });
}
