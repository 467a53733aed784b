import type { OutboxEntry } from '../../src/outbox/entry.js';
import type { SendContext, SendOutcome, Transport } from '../../src/transport/Transport.js';

export interface Call {
  entry: OutboxEntry;
  context: SendContext;
}

/**
 * A transport whose answers the test decides: `script(entry, n)` returns the outcome of the n-th
 * attempt (1-based) for that entry; default: delivered. Records every call and the largest
 * number of attempts in flight per conversation.
 */
export class ScriptedTransport implements Transport {
  readonly name = 'scripted';
  readonly calls: Call[] = [];
  readonly delivered: OutboxEntry[] = [];
  maxInFlightPerConversation = 0;
  maxInFlight = 0;
  private inFlight = new Map<string, number>();
  private attemptsById = new Map<string, number>();
  gate: Promise<void> | undefined;

  constructor(
    public script: (
      entry: OutboxEntry,
      attempt: number,
    ) => SendOutcome | Promise<SendOutcome> = () => ({
      kind: 'delivered',
    }),
    readonly concurrency: number = 4,
  ) {}

  async send(entry: OutboxEntry, context: SendContext): Promise<SendOutcome> {
    this.calls.push({ entry, context });
    const n = (this.attemptsById.get(entry.id) ?? 0) + 1;
    this.attemptsById.set(entry.id, n);
    const c = (this.inFlight.get(entry.conversationId) ?? 0) + 1;
    this.inFlight.set(entry.conversationId, c);
    this.maxInFlightPerConversation = Math.max(this.maxInFlightPerConversation, c);
    const total = [...this.inFlight.values()].reduce((a, b) => a + b, 0);
    this.maxInFlight = Math.max(this.maxInFlight, total);
    try {
      if (this.gate) await this.gate;
      await new Promise((r) => setTimeout(r, 0));
      const outcome = await this.script(entry, n);
      if (outcome.kind === 'delivered') this.delivered.push(entry);
      return outcome;
    } finally {
      this.inFlight.set(entry.conversationId, (this.inFlight.get(entry.conversationId) ?? 1) - 1);
    }
  }
}
