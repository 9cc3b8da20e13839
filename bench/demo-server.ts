// The demo service in its own process, for benchmarks that probe it.
//   node dist/bench/demo-server.js JWT_SECRET
import { startDemoService } from '../src/demo/service.js';

const demo = await startDemoService({ jwtSecret: process.argv[2] ?? 'bench-demo-server-secret-0123456789', faultToken: 'bench', tickMs: 0, dashboardRefreshMs: 50 });
process.send?.({ url: demo.url, wsUrl: demo.wsUrl });
