// The ceiling: a plain fastify route answering the same JSON-RPC tools/call by hand (no SDK, no auth,
// no governance). Nothing MCP-shaped can be faster on this runtime; it bounds every other figure.
import fastify from 'fastify';
import { ECHO_TOOL, echoAnswer } from '../lib/echo-tool.js';

const serverInfo = { name: 'bench-ceiling', version: '0.0.0' };
// Section 1b (diagnostic): the same route doing this many µs of CPU work per call, to show what a
// server that works per call pays in socket wake-ups that the saturated ceiling does not.
const workUs = Number(process.env.CEILING_WORK_US ?? 0);
const app = fastify({ logger: false });

interface Rpc {
  jsonrpc?: string;
  id?: string | number;
  method?: string;
  params?: { name?: string; arguments?: { text?: unknown; n?: unknown } };
}

app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/mcp', async (request, reply) => {
  if (workUs > 0) {
    const until = performance.now() + workUs / 1000;
    while (performance.now() < until); // busy work, not a sleep: CPU a real handler would spend
  }
  const msg = request.body as Rpc;
  reply.header('content-type', 'application/json');
  const id = msg.id ?? null;
  const args = msg.params?.arguments;
  if (msg.jsonrpc !== '2.0' || msg.method !== 'tools/call' || msg.params?.name !== ECHO_TOOL) {
    return JSON.stringify({
      jsonrpc: '2.0',
      id,
      error: { code: -32601, message: 'only tools/call echo_text' },
    });
  }
  if (typeof args?.text !== 'string' || typeof args.n !== 'number' || !Number.isInteger(args.n)) {
    return JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32602, message: 'invalid arguments' } });
  }
  const data = echoAnswer({ text: args.text, n: args.n });
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    result: {
      content: [{ type: 'text', text: JSON.stringify(data) }],
      structuredContent: data,
      resultType: 'complete',
      _meta: { 'io.modelcontextprotocol/serverInfo': serverInfo },
    },
  });
});

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
