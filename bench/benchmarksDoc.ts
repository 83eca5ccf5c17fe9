// npx tsx bench/benchmarksDoc.ts bench/kept/<run>
//
// Rewrites the generated part of BENCHMARKS.md (between its "generated" markers) from a kept run's
// results.json: the run named (commit, command, date), its results table, every answer check and
// the per-area CPU tables. The prose around it is written by hand and quotes only what this part shows.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './lib/child';
import { resultsMarkdown, type Results } from './lib/report';

const BEGIN = '<!-- generated: begin (npx tsx bench/benchmarksDoc.ts bench/kept/<run>; do not edit by hand) -->';
const END = '<!-- generated: end -->';

function main(): void {
  const runDir = process.argv[2];
  if (!runDir) throw new Error('usage: npx tsx bench/benchmarksDoc.ts bench/kept/<run>');
  const results = JSON.parse(readFileSync(path.join(runDir, 'results.json'), 'utf8')) as Results;
  const docFile = path.join(PROJECT_ROOT, 'BENCHMARKS.md');
  const doc = readFileSync(docFile, 'utf8');
  const from = doc.indexOf(BEGIN);
  const to = doc.indexOf(END);
  if (from < 0 || to < from) throw new Error(`BENCHMARKS.md has no ${BEGIN} … ${END} block`);
  const kept = path.relative(PROJECT_ROOT, path.resolve(runDir));
  // The run's own results.md, one heading level down, under the name of its kept folder.
  const body = resultsMarkdown(results)
    .replace(/^# .*\n/, '')
    .replace(/^(#+) /gm, '#$1 ');
  const generated = [
    BEGIN,
    '',
    `From \`${kept}/results.json\`: ${results.settings.quick ? 'quick' : 'full'} run started ${results.startedAt}, commit \`${results.commit}\`.`,
    body.trimEnd(),
    '',
    END,
  ].join('\n');
  writeFileSync(docFile, doc.slice(0, from) + generated + doc.slice(to + END.length));
  process.stdout.write(`BENCHMARKS.md: generated part rewritten from ${kept}\n`);
}

main();
