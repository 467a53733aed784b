import type { OutboxEntry } from '../../src/outbox/entry.js';
import type {
  SendContext,
  SendOutcome,
  Transport,
  TransportContext,
} from '../../src/transport/Transport.js';

/** One attempt waiting for the test to say how it ends. */
export interface HeldAttempt {
  entry: OutboxEntry;
  context: SendContext;
  answer(outcome: SendOutcome): void;
}

/**
 * A transport whose every attempt waits until the test answers it (`next()` / `answer`), so a
 * property test decides the outcome and the moment of each attempt. Keeps the context the outbox
 * gave it (`context.recordTranscript` writes agent lines). An attempt aborted by `close()` settles
 * as `retry`, like a real transport that stops waiting.
 */
export class GatedTransport implements Transport {
  readonly name = 'gated';
  readonly held: HeldAttempt[] = [];
  /** Every attempt, in the order it started. */
  readonly attempts: { id: string; conversationId: string; text: string; inDoubt: boolean }[] = [];
  context: TransportContext | undefined;

  constructor(readonly concurrency = 4) {}

  start(context: TransportContext): void {
    this.context = context;
  }

  send(entry: OutboxEntry, context: SendContext): Promise<SendOutcome> {
    this.attempts.push({
      id: entry.id,
      conversationId: entry.conversationId,
      text: entry.text,
      inDoubt: context.inDoubt,
    });
    return new Promise<SendOutcome>((resolve) => {
      const held: HeldAttempt = {
        entry,
        context,
        answer: (outcome) => {
          const i = this.held.indexOf(held);
          if (i >= 0) this.held.splice(i, 1);
          resolve(outcome);
        },
      };
      this.held.push(held);
      context.signal.addEventListener(
        'abort',
        () => held.answer({ kind: 'retry', error: { code: 'network', message: 'closed' } }),
        { once: true },
      );
    });
  }
}
