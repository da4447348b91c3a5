import { context, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';

// Without an OpenTelemetry SDK registered these are the API's no-op spans: no cost beyond a call.
const tracer = trace.getTracer('@lookout/core');

export function startSpan(name: string, attributes: Attributes, parent?: Context): { span: Span; ctx: Context } {
  const parentCtx = parent ?? context.active();
  const span = tracer.startSpan(name, { attributes }, parentCtx);
  return { span, ctx: trace.setSpan(parentCtx, span) };
}

export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : new Error(String(error)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

/** Wraps one guard check in a span carrying the stage, the verdict and the latency. */
export async function traceGuardCheck<T extends { safe: boolean; latencyMs: number; categories: string[]; failure?: string }>(
  stage: string,
  guard: string,
  parent: Context | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const { span } = startSpan('lookout.guard.check', { 'lookout.guard.stage': stage, 'lookout.guard.name': guard }, parent);
  const verdict = await fn();
  span.setAttributes({
    'lookout.guard.safe': verdict.safe,
    'lookout.guard.latency_ms': verdict.latencyMs,
    'lookout.guard.categories': verdict.categories,
  });
  if (verdict.failure) span.setAttribute('lookout.guard.failure', verdict.failure);
  span.end();
  return verdict;
}
