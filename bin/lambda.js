#!/usr/bin/env node
// The installed `lambda` command: runs the built CLI (npm run build) and exits with its status.
const { run } = await import('../dist/cli/main.js');
process.exitCode = await run(process.argv.slice(2));
