// A Node.js app exposing prom-client's default metrics (plus the heap-limit gauge the heap
// plugin's README recommends), its own view of its heap on /truth, and misbehaving endpoints.
const http = require('node:http');
const v8 = require('node:v8');
const client = require('prom-client');

client.collectDefaultMetrics();
new client.Gauge({
  name: 'nodejs_heap_size_limit_bytes',
  help: 'V8 heap size limit (v8.getHeapStatistics().heap_size_limit).',
  collect() {
    this.set(v8.getHeapStatistics().heap_size_limit);
  },
});

const keep = [];
const server = http.createServer(async (req, res) => {
  switch (req.url) {
    case '/metrics':
      res.setHeader('content-type', client.register.contentType);
      res.end(await client.register.metrics());
      break;
    case '/truth': {
      const m = process.memoryUsage();
      const h = v8.getHeapStatistics();
      res.end(JSON.stringify({ heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, limit: h.heap_size_limit }));
      break;
    }
    case '/grow':
      for (let i = 0; i < 300000; i++) keep.push({ i, s: `retained-${i}-${'x'.repeat(40)}` });
      res.end('ok');
      break;
    case '/html':
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end('<!DOCTYPE html><html><body>Please log in</body></html>');
      break;
    case '/slow':
      break; // never answers
    default:
      res.statusCode = 404;
      res.end('not found');
  }
});
server.listen(0, '127.0.0.1', () => console.log(String(server.address().port)));
