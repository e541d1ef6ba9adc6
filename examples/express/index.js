// An Express app as an AWS Lambda handler, wrapped by serverless-http (CommonJS).
// Its dependencies are installed by the platform at build time (no node_modules in the repository).
const express = require('express');
const serverless = require('serverless-http');

const app = express();
app.use(express.json());

app.get('/', (req, res) => res.json({ message: `Hello, ${req.query.name ?? 'World'}!`, framework: 'express' }));
app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
app.post('/echo', (req, res) => res.status(201).json({ received: req.body }));

module.exports.handler = serverless(app);
