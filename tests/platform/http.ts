/** A small HTTP client for platform tests: every call as one credential, answers parsed. */
export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export type Client = <T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<Answer<T>>;

export function client(baseUrl: string, credential?: string): Client {
  return async (method, path, body, headers = {}) => {
    const init: RequestInit = {
      method,
      headers: {
        ...(credential ? { authorization: `Bearer ${credential}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    };
    const response = await fetch(`${baseUrl}${path}`, init);
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // keep the text
    }
    return { status: response.status, body: parsed as never, headers: response.headers };
  };
}

/** Asserts the RFC 9457 shape every error answer must have, and returns the detail. */
export function isProblem(answer: Answer): boolean {
  const body = answer.body as Record<string, unknown> | null;
  return (
    answer.status >= 400 &&
    answer.status < 500 &&
    (answer.headers.get('content-type') ?? '').startsWith('application/problem+json') &&
    typeof body?.type === 'string' &&
    typeof body?.title === 'string' &&
    body?.status === answer.status &&
    typeof body?.detail === 'string' &&
    typeof body?.request_id === 'string'
  );
}
