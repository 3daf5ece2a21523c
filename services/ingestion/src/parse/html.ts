import { Tokenizer } from 'htmlparser2';

/** Elements whose content is never readable text. */
const SKIPPED = new Set([
  'script',
  'style',
  'noscript',
  'template',
  'svg',
  'math',
  'head',
  'iframe',
  'object',
  'canvas',
  'select',
  'button',
]);
/** Elements that start a new line of text. */
const BLOCK = new Set(
  (
    'address article aside blockquote br dd details div dl dt fieldset figcaption figure footer form ' +
    'h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th thead tr ul'
  ).split(' '),
);
/** Block elements set off by a blank line. */
const PARAGRAPH = new Set('p h1 h2 h3 h4 h5 h6 blockquote pre section article table ul ol'.split(' '));

const LINE_BREAK = '\ufdd0';
const PARAGRAPH_BREAK = '\ufdd1';

export interface HtmlText {
  text: string;
  title: string | null;
}

/**
 * Readable text of an HTML document: scripts, styles and other non-text elements dropped, block elements
 * on their own lines, entities decoded, whitespace collapsed; the `<title>` (else the first `<h1>`) is the
 * title. Built on htmlparser2's tokenizer alone: no tree and no stack of open elements, so the cost is
 * linear in the size whatever the nesting depth (the full parser's open-element stack is quadratic there).
 */
export function htmlToText(html: string): HtmlText {
  const out: string[] = [];
  const skipping = new Map<string, number>();
  let skipDepth = 0;
  let lastOpen = '';
  let inTitle = false;
  let title = '';
  let h1: string | null = null;
  let inH1 = false;
  let h1Text = '';

  const emit = (text: string) => {
    if (inTitle) title += text;
    if (skipDepth > 0) return;
    if (inH1) h1Text += text;
    out.push(text);
  };
  const open = (name: string) => {
    lastOpen = name;
    // Body content implicitly ends an unclosed <head>.
    if (name === 'body' && (skipping.get('head') ?? 0) > 0) close('head');
    if (name === 'title') inTitle = true;
    if (SKIPPED.has(name)) {
      skipping.set(name, (skipping.get(name) ?? 0) + 1);
      skipDepth += 1;
    } else if (BLOCK.has(name) && skipDepth === 0)
      out.push(PARAGRAPH.has(name) ? PARAGRAPH_BREAK : LINE_BREAK);
    if (name === 'h1' && h1 === null) inH1 = true;
  };
  const close = (name: string) => {
    if (name === 'title') inTitle = false;
    const open = skipping.get(name) ?? 0;
    if (open > 0) {
      skipping.set(name, open - 1);
      skipDepth -= 1;
    } else if (skipDepth === 0) {
      if (BLOCK.has(name)) out.push(PARAGRAPH.has(name) ? PARAGRAPH_BREAK : LINE_BREAK);
      else if (name === 'td' || name === 'th') out.push(' ');
    }
    if (name === 'h1' && inH1) {
      inH1 = false;
      h1 = collapse(h1Text);
    }
  };

  const tokenizer = new Tokenizer(
    { decodeEntities: true },
    {
      onopentagname: (start, end) => open(html.slice(start, end).toLowerCase()),
      onclosetag: (start, end) => close(html.slice(start, end).toLowerCase()),
      // `<x/>` opens and closes at once (HTML ignores the slash on most elements, but not on skipped ones).
      onselfclosingtag: () => {
        if (SKIPPED.has(lastOpen)) close(lastOpen);
      },
      ontext: (start, end) => emit(html.slice(start, end)),
      ontextentity: (codepoint) => emit(String.fromCodePoint(codepoint)),
      oncdata: () => undefined,
      onattribdata: () => undefined,
      onattribentity: () => undefined,
      onattribend: () => undefined,
      onattribname: () => undefined,
      oncomment: () => undefined,
      ondeclaration: () => undefined,
      onend: () => undefined,
      onopentagend: () => undefined,
      onprocessinginstruction: () => undefined,
    },
  );
  tokenizer.write(html);
  tokenizer.end();

  const text = out
    .join('')
    .replace(/\s+/g, (space) => (space.includes('\n') ? '\n' : ' '))
    // A run of breaks (and the spaces around them) becomes one: a blank line if any was a paragraph break.
    .replace(/[\s\ufdd0\ufdd1]*[\ufdd0\ufdd1][\s\ufdd0\ufdd1]*/g, (run) =>
      run.includes(PARAGRAPH_BREAK) ? '\n\n' : '\n',
    )
    .split('\n')
    .map((line) => collapse(line))
    .join('\n')
    .trim();
  return { text, title: collapse(title) || h1 || null };
}

function collapse(text: string): string {
  return text.replace(/[ \t\f\v\u00a0\r]+/g, ' ').trim();
}
