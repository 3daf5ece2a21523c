export interface ChunkOptions {
  /** Largest chunk, in characters. */
  size: number;
  /** Characters repeated from the end of one chunk at the start of the next (at most half the size). */
  overlap: number;
}

interface Segment {
  text: string;
  /** What joins it to the previous segment in the same chunk: a paragraph break or a space. */
  joiner: '\n\n' | ' ';
}

const SENTENCE_END = /(?<=[.!?。！？…]["'”’)\]]?)\s+(?=\S)/u;

/**
 * Splits text into chunks of at most `size` characters on the strongest boundary available: paragraphs,
 * then sentences, then words, and only for a word longer than a chunk, anywhere (never inside a surrogate
 * pair). Consecutive chunks share up to `overlap` characters, starting at a sentence or word boundary when
 * there is one. Deterministic: the same text and options always give the same chunks.
 */
export function chunkText(text: string, options: ChunkOptions): string[] {
  const size = Math.max(1, Math.floor(options.size));
  const overlap = Math.max(0, Math.min(Math.floor(options.overlap), Math.floor(size / 2)));
  // Room for the overlap and the space after it, so a segment always fits after the carried-over tail.
  const maxSegment = Math.max(1, size - (overlap > 0 ? overlap + 1 : 0));
  const chunks: string[] = [];
  let current = '';
  for (const segment of segments(text, maxSegment)) {
    if (current === '') {
      current = segment.text;
      continue;
    }
    if (current.length + segment.joiner.length + segment.text.length <= size) {
      current += segment.joiner + segment.text;
      continue;
    }
    chunks.push(current);
    const tail = overlapTail(current, overlap);
    current = tail ? `${tail} ${segment.text}` : segment.text;
  }
  if (current.trim() !== '') chunks.push(current);
  return chunks.map((chunk) => chunk.trim()).filter((chunk) => chunk !== '');
}

function* segments(text: string, max: number): Generator<Segment> {
  for (const paragraph of text.split(/\n[ \t]*\n/)) {
    const trimmed = paragraph.trim();
    if (trimmed === '') continue;
    let joiner: Segment['joiner'] = '\n\n';
    for (const piece of splitToFit(trimmed, max)) {
      yield { text: piece, joiner };
      joiner = ' ';
    }
  }
}

/** Pieces of at most `max` characters: whole sentences where they fit, else words, else hard cuts. */
function* splitToFit(paragraph: string, max: number): Generator<string> {
  if (paragraph.length <= max) {
    yield paragraph;
    return;
  }
  for (const sentence of paragraph.split(SENTENCE_END)) {
    if (sentence.length <= max) {
      yield sentence;
      continue;
    }
    let line = '';
    for (const word of sentence.split(/\s+/)) {
      if (word === '') continue;
      if (word.length > max) {
        if (line) yield line;
        line = '';
        yield* hardCut(word, max);
        continue;
      }
      if (line && line.length + 1 + word.length > max) {
        yield line;
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) yield line;
  }
}

function* hardCut(word: string, max: number): Generator<string> {
  let start = 0;
  while (start < word.length) {
    let end = Math.min(word.length, start + max);
    // Do not separate a surrogate pair.
    if (end < word.length && isLowSurrogate(word.charCodeAt(end)) && end - 1 > start) end -= 1;
    yield word.slice(start, end);
    start = end;
  }
}

/** The end of `chunk` to repeat: at most `overlap` characters, from a sentence or word start if possible. */
function overlapTail(chunk: string, overlap: number): string {
  if (overlap === 0) return '';
  let tail = chunk.slice(-overlap);
  if (tail.length < chunk.length) {
    const sentence = /[.!?。！？…]["'”’)\]]?\s+(?=\S)/u.exec(tail);
    const word = /\s+(?=\S)/.exec(tail);
    if (sentence && tail.length - (sentence.index + sentence[0].length) >= overlap / 3) {
      tail = tail.slice(sentence.index + sentence[0].length);
    } else if (word) {
      tail = tail.slice(word.index + word[0].length);
    } else if (isLowSurrogate(tail.charCodeAt(0))) {
      tail = tail.slice(1);
    }
  }
  return tail.trim();
}

const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;
