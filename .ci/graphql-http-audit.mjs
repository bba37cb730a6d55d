// Runs graphql-http's GraphQL-over-HTTP server audits against a running server.
//
//   node .ci/graphql-http-audit.mjs URL NODE_PREFIX
//
// URL is the GraphQL endpoint (http://127.0.0.1:PORT/graphql); NODE_PREFIX is the directory that
// `npm install --prefix NODE_PREFIX graphql-http graphql` installed into. Every audit's id, status
// and name is printed, a failing one with its reason and the response it got, then the counts.
// Exits 1 if any MUST (error) or SHOULD (warn) audit fails; a failing MAY (notice) is only shown.
import { createRequire } from 'node:module';
import path from 'node:path';

const [url, prefix] = process.argv.slice(2);
if (!url || !prefix) {
  console.error('usage: node graphql-http-audit.mjs URL NODE_PREFIX');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(prefix), 'noop.js'));
const { serverAudits } = require('graphql-http');
const { version } = require('graphql-http/package.json');

const REQUEST_TIMEOUT_MS = 15_000;
// Every request the audits send goes through this, with a timeout so a hung server fails the step.
const fetchFn = (input, init = {}) => fetch(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });

async function describe(response) {
  if (!response || typeof response.status !== 'number') return '    (no response)';
  const lines = [`    response: HTTP ${response.status} ${response.statusText}`];
  for (const name of ['content-type', 'allow']) {
    const value = response.headers.get(name);
    if (value !== null) lines.push(`    ${name}: ${value}`);
  }
  let body;
  try {
    body = await response.clone().text();
  } catch (error) {
    body = `(body unreadable: ${error?.message ?? error})`;
  }
  if (body.length > 1000) body = `${body.slice(0, 1000)}… (${body.length} chars)`;
  lines.push(`    body: ${body}`);
  return lines.join('\n');
}

console.log(`graphql-http ${version} server audits against ${url}`);
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
const failures = [];
// One at a time, in the library's order, so the output reads like its source.
for (const { id, name, fn } of serverAudits({ url, fetchFn })) {
  let result;
  try {
    result = await fn();
  } catch (error) {
    // graphql-http throws only on a fatal problem (the request itself failed): count it as an error.
    result = { id, name, status: 'error', reason: `fatal: ${error?.message ?? error}${error?.cause ? ` (${error.cause.message ?? error.cause})` : ''}`, response: undefined };
  }
  counts[result.status] += 1;
  console.log(`${result.status.toUpperCase().padEnd(6)} ${id} ${name}`);
  if (result.status !== 'ok') {
    const detail = `    reason: ${result.reason}\n${await describe(result.response)}`;
    console.log(detail);
    if (result.status !== 'notice') failures.push(`${result.status.toUpperCase()} ${id} ${name}\n${detail}`);
  }
}

const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
console.log(
  `graphql-http audits: ${total} total, ${counts.ok} ok, ${counts.notice} notice (MAY), ` +
    `${counts.warn} warn (SHOULD), ${counts.error} error (MUST)`,
);
if (failures.length > 0) {
  console.log(`\n${failures.length} MUST/SHOULD audit(s) failed:\n${failures.join('\n')}`);
  process.exit(1);
}
