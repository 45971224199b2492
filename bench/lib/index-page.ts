import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `README.md` of a results folder: every benchmark's Markdown (tables, targets, chart) in the
 * runner's order, so the latest results read as one page. Rebuilt after each benchmark.
 */
export async function writeIndexPage(dir: string, order: readonly string[]): Promise<string> {
  const files = new Set(await readdir(dir));
  const parts: string[] = [];
  for (const name of order) {
    if (!files.has(`${name}.md`)) continue;
    const md = await readFile(join(dir, `${name}.md`), 'utf8');
    parts.push(md.replace(/^# /, '## ').replace(/\n### /g, '\n#### '));
  }
  const page = [
    '# admove benchmark results',
    '',
    'Written by `npm run bench` (bench/run.ts); each section below is also a file of its own (`<name>.md`, raw samples in `<name>.json`, chart in `<name>.svg`). What each benchmark measures: [bench/README.md](../README.md).',
    '',
    ...parts,
  ].join('\n');
  const path = join(dir, 'README.md');
  await writeFile(path, `${page.trim()}\n`);
  return path;
}
