import { type Context, type ContextManager, ROOT_CONTEXT } from '@opentelemetry/api';

/**
 * A context manager that keeps the active context for the synchronous extent of `context.with` only: it does
 * not follow promises, timers or callbacks. On Node 20 the AsyncLocalStorage manager makes V8 call hooks on
 * every promise the process creates, which on the gateway cost about a sixth of a cached-key request. A
 * process using this one passes its spans explicitly: it runs each call that must join a trace inside
 * `context.with(trace.setSpan(…), fn)`, and client spans, injected headers and instrumented library calls
 * made synchronously inside `fn` see that span as their parent.
 */
export class SyncContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

  active(): Context {
    return this.current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const previous = this.current;
    this.current = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    return function bound(this: unknown, ...args: unknown[]) {
      return manager.with(context, () => (target as (...a: unknown[]) => unknown).apply(this, args));
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}
