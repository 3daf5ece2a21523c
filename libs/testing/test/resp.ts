import { connect } from 'node:net';

/** Sends one Redis command and returns its reply as text (enough for SET/GET/DEL in these tests). */
export function redisCommand(url: string, ...args: string[]): Promise<string | null> {
  const { hostname, port } = new URL(url);
  const request = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(request));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('data', (chunk: string) => {
      text += chunk;
      const reply = parseReply(text);
      if (reply === undefined) return;
      socket.destroy();
      if (reply instanceof Error) reject(reply);
      else resolve(reply);
    });
  });
}

function parseReply(text: string): string | null | Error | undefined {
  const end = text.indexOf('\r\n');
  if (end < 0) return undefined;
  const head = text.slice(1, end);
  switch (text[0]) {
    case '+':
    case ':':
      return head;
    case '-':
      return new Error(head);
    case '$': {
      const len = Number(head);
      if (len < 0) return null;
      const body = text.slice(end + 2);
      return Buffer.byteLength(body) >= len + 2 ? body.slice(0, len) : undefined;
    }
    default:
      return new Error(`unsupported reply: ${text.slice(0, 40)}`);
  }
}
