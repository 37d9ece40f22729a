/**
 * The documentation: README.md stays a front door (short, with the two commands verbatim), every
 * relative link of README.md and docs/*.md points to a file that exists, and no page names a folder
 * that the restructure removed (lib/experiments/, lib/cluster/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../../lib/paths';

const README = path.join(REPO_ROOT, 'README.md');
const DOCS = path.join(REPO_ROOT, 'docs');

/** README.md and every Markdown file under docs/, as absolute paths. */
function pages(): string[] {
  const out = [README];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) out.push(p);
    }
  };
  if (fs.existsSync(DOCS)) walk(DOCS);
  return out;
}

const rel = (file: string) => path.relative(REPO_ROOT, file);

/** The text of a page without fenced code blocks and inline code, where `[a](b)` is not a link. */
function prose(md: string): string {
  return md.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Link targets of `[text](target)` and `[text](target "title")`, images included. */
function linkTargets(md: string): string[] {
  return [...prose(md).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
}

test('README.md is a front door: at most 300 lines', () => {
  const lines = fs.readFileSync(README, 'utf8').split('\n').length;
  assert.ok(lines <= 300, `README.md has ${lines} lines; keep it at most 300 and move detail into docs/`);
});

test('README.md gives the two commands verbatim', () => {
  const text = fs.readFileSync(README, 'utf8');
  for (const cmd of ['npm run setup && npm run reproduce', 'npm test']) assert.ok(text.includes(cmd), `README.md lacks '${cmd}'`);
});

test('the docs/ pages exist', () => {
  assert.ok(fs.existsSync(DOCS), 'docs/ is missing');
  assert.ok(pages().length > 1, 'docs/ holds no Markdown page');
});

test('every relative link in README.md and docs/*.md points to an existing file', () => {
  const broken: string[] = [];
  for (const file of pages()) {
    for (const target of linkTargets(fs.readFileSync(file, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // http:, mailto:, anchors
      const local = decodeURIComponent(target.replace(/[#?].*$/, ''));
      if (!fs.existsSync(path.resolve(path.dirname(file), local))) broken.push(`${rel(file)}: (${target})`);
    }
  }
  assert.deepEqual(broken, [], 'links to files that do not exist');
});

test('no page names the folders the restructure removed', () => {
  const stale: string[] = [];
  for (const file of pages()) {
    fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      const m = line.match(/\blib\/(experiments|cluster)\/|\brepro\/experiments\b/);
      if (m) stale.push(`${rel(file)}:${i + 1}: ${m[0]} (now lib/runner/, lib/runner/cluster/ or lib/studies/<name>/)`);
    });
  }
  assert.deepEqual(stale, []);
});

test('the link extractor sees links, and not code', () => {
  assert.deepEqual(linkTargets('see [a](docs/a.md) and [b](../b.md#x "t") and ![c](c.png)'), ['docs/a.md', '../b.md#x', 'c.png']);
  assert.deepEqual(linkTargets('`[a](x.md)`\n```\n[b](y.md)\n```\n[c](z.md)'), ['z.md']);
});
