// graphql-http's server audit (the GraphQL over HTTP spec's conformance suite) against a
// running Boka: `node graphql_http_audit.mjs <url> <node_modules dir>`. Prints one JSON line:
// the counts by status and every audit that did not pass, with its reason.
import { createRequire } from 'node:module';
import path from 'node:path';

const [url, modules] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(modules), 'index.js'));
const { auditServer } = require('graphql-http');

const results = await auditServer({ url });
const counts = { ok: 0, warn: 0, error: 0 };
const failures = [];
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  if (result.status !== 'ok') {
    failures.push({ id: result.id, name: result.name, status: result.status, reason: result.reason });
  }
}
console.log(JSON.stringify({ ...counts, failures }));
