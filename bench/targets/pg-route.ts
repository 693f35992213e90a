// The db section's HTTP floor: a plain fastify route answering tools/call run_query by running the
// SQL through a pg pool (same pool size as the database server), no auth, no checks, no governance.
import fastify from 'fastify';
import pg from 'pg';

const pool = new pg.Pool({
  connectionString: process.env.WAREHOUSE_URL,
  max: Number(process.env.WAREHOUSE_POOL_MAX ?? 5),
});
const app = fastify({ logger: false });

interface Rpc {
  id?: string | number;
  params?: { arguments?: { sql?: unknown } };
}

app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/mcp', async (request, reply) => {
  const msg = request.body as Rpc;
  reply.header('content-type', 'application/json');
  const sql = msg.params?.arguments?.sql;
  if (typeof sql !== 'string')
    return JSON.stringify({ jsonrpc: '2.0', id: msg.id ?? null, error: { code: -32602, message: 'sql' } });
  const started = performance.now();
  const r = await pool.query({ text: sql, rowMode: 'array' });
  const data = {
    columns: r.fields.map((f) => ({ name: f.name, type: String(f.dataTypeID) })),
    rows: r.rows as unknown[][],
    rowCount: r.rows.length,
    truncated: false,
    truncatedBy: null,
    elapsedMs: Math.round((performance.now() - started) * 10) / 10,
  };
  return JSON.stringify({
    jsonrpc: '2.0',
    id: msg.id,
    result: {
      content: [{ type: 'text', text: JSON.stringify(data) }],
      structuredContent: data,
      resultType: 'complete',
    },
  });
});

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
process.on('SIGTERM', () => void Promise.all([app.close(), pool.end()]).then(() => process.exit(0)));
