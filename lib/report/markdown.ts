/**
 * A small Markdown → HTML converter for the text the notebooks display (verdicts, captions, cost lines):
 * paragraphs, `#` headings, `-`/`*`/`1.` lists, pipe tables, **bold**, *italic*, `code`, [links](url).
 *
 * Why: Jupyter Notebook does not render `text/markdown` outputs of an untrusted notebook (every freshly
 * cloned one) but does render sanitised `text/html`; so `showMarkdown` sends both, and the HTML is made
 * here, escaped first, so no input can inject markup.
 */

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Inline spans of one (already block-split) line. */
export function inlineHtml(text: string): string {
  // Code spans become placeholders first (their content is not read as emphasis, and emphasis may
  // span them: **Preset: `smoke`**), then come back escaped.
  const codes: string[] = [];
  const held = text.replace(/`([^`]+)`/g, (_m, c: string) => {
    codes.push(`<code>${escapeHtml(c)}</code>`);
    return `\u0000${codes.length - 1}\u0000`;
  });
  let h = escapeHtml(held);
  h = h.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, t: string, u: string) =>
    /^(https?:|\.{0,2}\/|#)/.test(u) || !/^[a-z]+:/i.test(u) ? `<a href="${u}">${t}</a>` : t,
  );
  h = h.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
  h = h.replace(/(^|[^*\w])\*([^*\s][^*]*?)\*(?![*\w])/g, '$1<em>$2</em>');
  h = h.replace(/(^|[^_\w])_([^_\s][^_]*?)_(?![_\w])/g, '$1<em>$2</em>');
  return h.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => codes[Number(i)]);
}

function tableCells(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

/** Converts Markdown to HTML (see the file header for what is understood). */
export function markdownToHtml(md: string): string {
  const lines = md.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let para: string[] = [];
  const flush = () => {
    if (para.length) out.push(`<p>${para.map(inlineHtml).join('<br>\n')}</p>`);
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim()) {
      flush();
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      const n = heading[1].length;
      out.push(`<h${n}>${inlineHtml(heading[2])}</h${n}>`);
      continue;
    }
    if (/^\s*\|.*\|\s*$/.test(line) && i + 1 < lines.length && /^\s*\|?\s*:?-{2,}/.test(lines[i + 1])) {
      flush();
      const head = tableCells(line);
      const rows: string[][] = [];
      i += 2;
      while (i < lines.length && /^\s*\|.*\|\s*$/.test(lines[i])) rows.push(tableCells(lines[i++]));
      i -= 1;
      out.push(
        '<table>\n<thead><tr>' + head.map((h) => `<th>${inlineHtml(h)}</th>`).join('') + '</tr></thead>\n<tbody>\n' +
          rows.map((r) => '<tr>' + r.map((c) => `<td>${inlineHtml(c)}</td>`).join('') + '</tr>').join('\n') +
          '\n</tbody>\n</table>',
      );
      continue;
    }
    const item = /^\s*([-*]|\d+\.)\s+(.*)$/.exec(line);
    if (item) {
      flush();
      const ordered = /\d/.test(item[1]);
      const items: string[] = [];
      while (i < lines.length) {
        const m = /^\s*([-*]|\d+\.)\s+(.*)$/.exec(lines[i]);
        if (m) items.push(m[2]);
        else if (lines[i].trim() && /^\s{2,}/.test(lines[i]) && items.length) items[items.length - 1] += ' ' + lines[i].trim();
        else break;
        i++;
      }
      i -= 1;
      const tag = ordered ? 'ol' : 'ul';
      out.push(`<${tag}>\n${items.map((t) => `<li>${inlineHtml(t)}</li>`).join('\n')}\n</${tag}>`);
      continue;
    }
    para.push(line.trim());
  }
  flush();
  return out.join('\n');
}
