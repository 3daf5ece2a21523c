import { Lexer, Parser, type Tokens } from 'marked';
import { htmlToText } from './html.js';

/** Markdown rendered to HTML and read back as text; the first top-level heading is the title. */
export function markdownToText(markdown: string): { text: string; title: string | null } {
  const tokens = new Lexer({ gfm: true }).lex(markdown);
  const heading = tokens.find((token): token is Tokens.Heading => token.type === 'heading');
  const parser = new Parser({ gfm: true });
  const { text } = htmlToText(parser.parse(tokens));
  return { text, title: heading ? htmlToText(parser.parseInline(heading.tokens)).text || null : null };
}
