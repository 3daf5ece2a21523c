import { BusProblem } from '@kb/contracts';
import { AppError, isAppError, isProblemCode, unavailable } from '@kb/errors';
import { type Msg, NoRespondersError } from '@nats-io/transport-node';
import { TypeCompiler } from '@sinclair/typebox/compiler';

const SERVICE_ERROR_CODE = 'Nats-Service-Error-Code';
const checkProblem = TypeCompiler.Compile(BusProblem);

/** Serialises an error for a `respondError` reply, hiding internals of unexpected failures. */
export function toBusProblem(error: unknown): { status: number; problem: BusProblem } {
  if (isAppError(error)) {
    const problem: BusProblem = { code: error.code, detail: error.message };
    if (error.retryAfter !== undefined) problem.retry_after = error.retryAfter;
    return { status: error.status, problem };
  }
  return { status: 500, problem: { code: 'internal', detail: 'internal error' } };
}

/** The AppError a reply carries, or null when the reply is a success. */
export function fromReply(msg: Msg): AppError | null {
  const code = msg.headers?.get(SERVICE_ERROR_CODE);
  if (!code) return null;
  let payload: unknown;
  try {
    payload = msg.json();
  } catch {
    payload = undefined;
  }
  if (checkProblem.Check(payload) && isProblemCode(payload.code)) {
    return new AppError(
      payload.code,
      payload.detail,
      payload.retry_after === undefined ? {} : { retryAfter: payload.retry_after },
    );
  }
  return new AppError('internal', `service answered ${code}`);
}

/** Maps NATS request failures to errors a client can act on. */
export function fromRequestError(error: unknown, target: string, timeoutMs: number): AppError {
  const name = error instanceof Error ? error.name : '';
  const noResponders =
    // Directly (the reply inbox), or as the cause of the client's RequestError (`nc.request`).
    error instanceof NoRespondersError ||
    (error instanceof Error && error.cause instanceof NoRespondersError);
  if (noResponders) return unavailable(`${target} is unavailable (no instance is answering)`, 1, error);
  if (
    name === 'TimeoutError' ||
    (error instanceof Error && error.cause instanceof Error && error.cause.name === 'TimeoutError')
  ) {
    return new AppError('timeout', `${target} did not answer within ${timeoutMs} ms`, {
      retryAfter: 1,
      cause: error,
    });
  }
  if (name === 'ClosedConnectionError' || name === 'DrainingConnectionError' || name === 'ConnectionError') {
    return unavailable('the message bus is unavailable', 1, error);
  }
  return unavailable(`${target} request failed`, 1, error);
}
