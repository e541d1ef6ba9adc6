// A Hono app as an AWS Lambda handler: hono/aws-lambda's handle() turns API Gateway v2 events into Requests.
// Its dependencies are installed by the platform at build time (no node_modules in the repository).
import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';

const app = new Hono();

app.get('/', (c) => c.json({ message: `Hello, ${c.req.query('name') ?? 'World'}!`, framework: 'hono' }));
app.get('/users/:id', (c) => c.json({ id: c.req.param('id') }));
app.post('/echo', async (c) => c.json({ received: await c.req.json() }, 201));

export const handler = handle(app);
