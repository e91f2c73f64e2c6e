// The official graphql-ws client subscribes with documents that cannot run:
// `node graphql_ws_errors.mjs <ws url> <node_modules dir> <tenant>`. Prints one JSON line: for
// each document, what the client's sink saw (its error's messages, or "complete"/"next"),
// then whether a good operation still runs on the same connection.
import { createRequire } from 'node:module';
import path from 'node:path';

const [url, modules, tenant] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(modules), 'index.js'));
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');

const client = createClient({ url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0,
                              connectionParams: { tenant } });

function run(query) {
  return new Promise((resolve) => {
    const seen = [];
    client.subscribe({ query }, {
      next: (value) => seen.push({ next: value }),
      error: (error) => resolve({ error: Array.isArray(error) ? error : String(error?.reason ?? error) }),
      complete: () => resolve({ complete: seen }),
    });
  });
}

const report = {
  syntax: await run('subscription { bookingEvents { type '),
  invalid: await run('subscription { noSuchField }'),
  still_fine: await run('{ __typename }'),
};
await client.dispose();
console.log(JSON.stringify(report));
