// An HTTP server on 127.0.0.1:PORT (0: any free port). Prints its address
// as one JSON line once listening; answers every request with what it saw.
'use strict';
const http = require('http');

const port = Number(process.argv[2]);
const big = Buffer.alloc(1 << 20, 'u');

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/big') {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(big);
      return;
    }
    const s = req.socket;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({
      method: req.method,
      url: req.url,
      bodyLength: Buffer.concat(chunks).length,
      remoteAddress: s.remoteAddress ?? null,
      remoteFamily: s.remoteFamily ?? null,
      localAddress: s.localAddress ?? null,
      localPort: s.localPort ?? null,
    }));
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify(server.address()));
});

process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
