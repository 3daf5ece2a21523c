import { makePdf } from '@kb/testing';
import { describe, expect, it } from 'vitest';
import { ContentError } from '../pipeline/errors.js';
import { parseDocument } from './index.js';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('parseDocument', () => {
  it('reads plain text and normalises line endings and control characters', async () => {
    const parsed = await parseDocument(utf8('\uFEFFHello\r\nworld\u0007  \n\n\n\nagain'), 'text/plain');
    expect(parsed).toEqual({ text: 'Hello\nworld\n\nagain', title: null });
  });

  it('reads HTML as readable text without scripts, styles or tags, whatever the nesting depth', async () => {
    const html = `<!doctype html><html><head><title>The &amp; Title</title><style>p{color:red}</style>
      <script>alert("no")</script></head><body><h1>Heading</h1><p>Hello <b>bold</b> world.</p>
      <noscript>nothing</noscript><ul><li>one</li><li>two</li></ul><script>var hidden = 1;</script></body></html>`;
    const parsed = await parseDocument(utf8(html), 'text/html');
    expect(parsed.title).toBe('The & Title');
    expect(parsed.text).toContain('Heading');
    expect(parsed.text).toContain('Hello bold world.');
    expect(parsed.text).toMatch(/one\ntwo/);
    for (const hidden of ['alert', 'color', 'hidden', 'nothing', '<'])
      expect(parsed.text).not.toContain(hidden);
    const deep = `${'<div>'.repeat(200_000)}deep text${'</div>'.repeat(200_000)}`;
    expect((await parseDocument(utf8(deep), 'text/html')).text).toBe('deep text');
  });

  it('reads Markdown as text, with its first heading as the title', async () => {
    const parsed = await parseDocument(
      utf8(
        '# Guide to *kb*\n\nSome **bold** text and a [link](http://example.com).\n\n- item one\n- item two\n\n```\ncode here\n```',
      ),
      'text/markdown',
    );
    expect(parsed.title).toBe('Guide to kb');
    expect(parsed.text).toContain('Some bold text and a link.');
    expect(parsed.text).toContain('item one');
    expect(parsed.text).toContain('code here');
    expect(parsed.text).not.toContain('**');
  });

  it('reads JSON keys and values, refusing invalid or absurdly nested JSON', async () => {
    const parsed = await parseDocument(
      utf8(JSON.stringify({ title: 'Config', owner: { name: 'Ada', tags: ['x', 'y'] }, items: [{ id: 1 }] })),
      'application/json',
    );
    expect(parsed.title).toBe('Config');
    expect(parsed.text).toBe('title: Config\nowner.name: Ada\nowner.tags: x, y\nitems[0].id: 1');
    await expect(parseDocument(utf8('{"a": '), 'application/json')).rejects.toThrow(/JSON is invalid/);
    const nested = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    await expect(parseDocument(utf8(nested), 'application/json')).rejects.toThrow(/nested more than/);
  });

  it('reads the text layer of a PDF, and its title', async () => {
    const pdf = makePdf([['Hello PDF world.', 'Second line.'], ['Page two.']], 'A PDF Title');
    const parsed = await parseDocument(pdf, 'application/pdf');
    expect(parsed.title).toBe('A PDF Title');
    expect(parsed.text).toContain('Hello PDF world.');
    expect(parsed.text).toContain('Page two.');
  });

  it('fails bad content with a reason a user can act on', async () => {
    const cases: [Uint8Array, Parameters<typeof parseDocument>[1], RegExp][] = [
      [new Uint8Array(), 'text/plain', /empty/],
      [Uint8Array.from([0x68, 0x69, 0xff, 0xfe]), 'text/plain', /not valid UTF-8/],
      [utf8('a\u0000b'), 'text/plain', /NUL/],
      [utf8('%PDF-1.4\ngarbage that is not a pdf'), 'application/pdf', /could not be read/],
      [makePdf([['x']]).subarray(0, 200), 'application/pdf', /could not be read/],
      [utf8('plain words'), 'application/pdf', /not a PDF/],
      [makePdf([['hello']]), 'text/plain', /is a PDF but was declared as text\/plain/],
      [makePdf([[]]), 'application/pdf', /no text layer/],
      [utf8('<html><script>only()</script></html>'), 'text/html', /no text/],
      [utf8('>'.repeat(20_000)), 'text/markdown', /./],
    ];
    for (const [bytes, type, reason] of cases) {
      const error = await parseDocument(bytes, type).then(
        () => null,
        (e: unknown) => e,
      );
      if (type === 'text/markdown' && error === null) continue; // deep quotes may parse; they must not crash
      expect(error, `${type} ${reason}`).toBeInstanceOf(ContentError);
      expect((error as Error).message).toMatch(reason);
    }
  });
});
