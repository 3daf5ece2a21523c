import { AppError, isAppError, problemType } from '@kb/errors';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { principalLogFields } from '../auth/principal.js';

/**
 * Every error answer is an RFC 9457 problem with the request id. 4xx details name what is wrong;
 * 5xx details never reveal internals.
 */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const problem = toAppError(error);
    const fields = principalLogFields(request);
    if (problem.status >= 500) request.log.error({ err: error, ...fields }, 'request failed');
    else request.log.info({ code: problem.code, detail: problem.message, ...fields }, 'request refused');
    return sendProblem(request, reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      new AppError('not-found', `no route for ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  if (error.retryAfter !== undefined) reply.header('retry-after', String(Math.ceil(error.retryAfter)));
  return reply
    .code(error.status)
    .type('application/problem+json')
    .send({
      type: problemType(error.code),
      title: error.title,
      status: error.status,
      detail: error.status >= 500 && error.code === 'internal' ? 'internal error' : error.message,
      request_id: request.id,
    });
}

function toAppError(error: FastifyError | AppError): AppError {
  if (isAppError(error)) return error;
  if (error.validation) {
    const first = error.validation[0];
    const where = error.validationContext ?? 'body';
    const path = first?.instancePath ? `${where}${first.instancePath.replaceAll('/', '.')}` : where;
    if (first?.keyword === 'additionalProperties') {
      return new AppError(
        'invalid-request',
        `${path}.${String(first.params.additionalProperty)}: is not an accepted field`,
      );
    }
    const missing = first?.keyword === 'required' ? `.${String(first.params.missingProperty)}` : '';
    return new AppError('invalid-request', `${path}${missing}: ${first?.message ?? 'is invalid'}`);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload-too-large', 'request body is larger than the limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported-media-type', 'content type is not supported');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid-request', 'body: must be a JSON object');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('invalid-request', 'body: is not valid JSON');
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new AppError('invalid-request', error.message);
  }
  if (isConnectionError(error)) {
    return new AppError('service-unavailable', 'a dependency is unavailable; retry shortly', {
      retryAfter: 1,
      cause: error,
    });
  }
  return new AppError('internal', 'internal error', { cause: error });
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
const CONNECTION_MESSAGES =
  /connection is closed|stream isn't writeable|reached the max retries per request|connection (?:closed|refused|lost)/i;

/** A server this gateway depends on (Redis, NATS, …) is restarting or unreachable: retryable, not a bug. */
function isConnectionError(error: Error & { code?: unknown }): boolean {
  if (typeof error.code === 'string' && CONNECTION_CODES.has(error.code)) return true;
  return error.name === 'MaxRetriesPerRequestError' || CONNECTION_MESSAGES.test(error.message);
}
