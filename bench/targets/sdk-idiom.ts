// The SDK's own stateless idiom (v2): createMcpHandler with a fresh McpServer per request, mounted on
// node:http with toNodeHandler, the leanest mounting the SDK documents. Same tool, same schemas.
import { createServer } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { ECHO_TOOL, echoAnswer, echoSchemas, echoTool } from '../lib/echo-tool.js';

const handler = createMcpHandler(
  () => {
    const server = new McpServer({ name: 'bench-sdk', version: '0.0.0' });
    server.registerTool(
      ECHO_TOOL,
      {
        title: echoTool.title,
        description: echoTool.description,
        inputSchema: echoSchemas.input,
        outputSchema: echoSchemas.output,
        annotations: { readOnlyHint: true },
      },
      async (args) => {
        const data = echoAnswer(args);
        return { content: [{ type: 'text', text: JSON.stringify(data) }], structuredContent: data };
      },
    );
    return server;
  },
  { legacy: 'stateless' },
);
const node = toNodeHandler(handler);

const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return;
  }
  if (req.url === '/mcp') {
    void node(req, res);
    return;
  }
  res.writeHead(404).end();
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
