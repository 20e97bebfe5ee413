// Makes COUNT requests to http://127.0.0.1:PORT with at most 4 keep-alive
// connections at a time: GETs, POSTs with a body, and a 1 MiB download.
// Prints one JSON summary line; exits non-zero on any error.
'use strict';
const http = require('http');

const port = Number(process.argv[2]);
const count = Number(process.argv[3] || 100);
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(20000, () => req.destroy(new Error(`timeout on ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const jobs = [];
  for (let i = 0; i < count; i++) {
    const post = i % 2 === 1;
    jobs.push(request(post ? 'POST' : 'GET', `/r/${i}`, post ? Buffer.alloc(1000 + i, 'p') : undefined)
      .then((r) => {
        const seen = JSON.parse(r.body);
        if (r.status !== 200 || seen.url !== `/r/${i}` || seen.bodyLength !== (post ? 1000 + i : 0)) {
          throw new Error(`bad answer to request ${i}: ${r.status} ${r.body}`);
        }
        return seen;
      }));
  }
  const answers = await Promise.all(jobs);
  const big = await request('GET', '/big');
  if (big.status !== 200 || big.body.length !== 1 << 20 || big.body.some((b) => b !== 0x75)) {
    throw new Error(`bad /big: ${big.status}, ${big.body.length} bytes`);
  }
  agent.destroy();
  console.log(JSON.stringify({ ok: answers.length, first: answers[0] }));
}

main().catch((e) => {
  console.error(`client error: ${e.stack || e}`);
  process.exit(1);
});
