// node:cluster with 2 workers sharing one HTTP listener on 127.0.0.1:PORT.
// NODE_CLUSTER_SCHED_POLICY=rr: the primary accepts and passes each
// connection to a worker (SCM_RIGHTS); =none: the workers get the listening
// socket itself and accept on it. Prints the address once both listen.
'use strict';
const cluster = require('cluster');
const http = require('http');

const port = Number(process.argv[2]);

if (cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < 2; i++) cluster.fork();
  cluster.on('listening', (worker, address) => {
    if (++listening === 2) console.log(JSON.stringify(address));
  });
  cluster.on('exit', (worker, code, signal) => {
    if (!process.exitCode && code !== 0) console.error(`worker ${worker.process.pid} died: ${code} ${signal}`);
  });
  process.on('SIGTERM', () => {
    process.exitCode = 0;
    cluster.disconnect(() => process.exit(0));
  });
} else {
  http.createServer((req, res) => {
    const s = req.socket;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({
      pid: process.pid,
      remoteAddress: s.remoteAddress ?? null,
      remoteFamily: s.remoteFamily ?? null,
      localAddress: s.localAddress ?? null,
      localPort: s.localPort ?? null,
    }));
  }).listen(port, '127.0.0.1');
}
