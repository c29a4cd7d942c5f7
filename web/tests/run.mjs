// Runs every *.test.mjs in this folder with node:test, prints the spec
// report, and ends with one line, alone: `N passed, N failed` (CI reads it).
// A test counts as failed when it fails or is cancelled (for example because
// the server fixture in before() could not start); suites are not counted.
// Exit status: 0 when nothing failed and something passed, else 1.

import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((name) => name.endsWith('.test.mjs')).sort().map((name) => join(here, name));

let passed = 0;
let failed = 0;
const stream = run({ files, concurrency: 1 });
stream.on('test:pass', (data) => { if (data.details?.type !== 'suite' && !data.skip && !data.todo) passed += 1; });
stream.on('test:fail', (data) => { if (data.details?.type !== 'suite' && !data.todo) failed += 1; });

const report = stream.compose(new spec());
report.pipe(process.stdout, { end: false });
report.on('end', () => {
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
});
