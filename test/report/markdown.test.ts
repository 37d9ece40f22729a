import { test } from 'node:test';
import assert from 'node:assert/strict';
import { markdownToHtml } from '../../lib/report/markdown';

test('markdownToHtml: paragraphs, emphasis, code, headings, lists, tables; input is escaped', () => {
  assert.equal(markdownToHtml('**Verdict.** α_min = 0.6 is *worse*: `kNN` < 70 %'), '<p><strong>Verdict.</strong> α_min = 0.6 is <em>worse</em>: <code>kNN</code> &lt; 70 %</p>');
  assert.equal(markdownToHtml('a\nb\n\nc'), '<p>a<br>\nb</p>\n<p>c</p>');
  assert.equal(markdownToHtml('### Title\n- one\n- two **2**'), '<h3>Title</h3>\n<ul>\n<li>one</li>\n<li>two <strong>2</strong></li>\n</ul>');
  assert.equal(markdownToHtml('1. x\n2. y'), '<ol>\n<li>x</li>\n<li>y</li>\n</ol>');
  assert.equal(
    markdownToHtml('| a | b |\n|---|---:|\n| 1 | 2 |'),
    '<table>\n<thead><tr><th>a</th><th>b</th></tr></thead>\n<tbody>\n<tr><td>1</td><td>2</td></tr>\n</tbody>\n</table>',
  );
  assert.equal(markdownToHtml('<script>alert(1)</script>'), '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
  assert.equal(markdownToHtml('[x](javascript:void)'), '<p>x</p>');
  assert.equal(markdownToHtml('[paper](https://arxiv.org/abs/2404.10947)'), '<p><a href="https://arxiv.org/abs/2404.10947">paper</a></p>');
  // Underscores inside names (α_min, run_id) are not emphasis.
  assert.equal(markdownToHtml('α_min and run_id'), '<p>α_min and run_id</p>');
});

test('presetBanner: names the preset and its source, how to switch, and warns off the reference preset', async () => {
  const { presetBanner } = await import('../../lib/report/display');
  const smoke = presetBanner('smoke', { REPRO_PRESET: 'smoke' });
  assert.match(smoke, /^\*\*Preset: `smoke`\*\* \(from `REPRO_PRESET=smoke`\)/);
  assert.match(smoke, /REPRO_PRESET=smoke jupyter notebook/);
  assert.match(smoke, /not the reference `cpu` run/);
  const cpu = presetBanner('cpu', {});
  assert.match(cpu, /the default \(`REPRO_PRESET` is not set\)/);
  assert.doesNotMatch(cpu, /not the reference/);
});

test('markdownToHtml: emphasis around code spans', () => {
  assert.equal(markdownToHtml('**Preset: `smoke`** and `a*b*c`'), '<p><strong>Preset: <code>smoke</code></strong> and <code>a*b*c</code></p>');
});
