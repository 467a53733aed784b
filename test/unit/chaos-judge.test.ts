import { describe, expect, it } from 'vitest';
// @ts-expect-error -- the chaos harness is plain JavaScript without type declarations
import { analyse } from '../chaos/analyse.mjs';

// The chaos judge decides what counts against the promise; these cases pin its classification of
// what the outbox still holds at the end of a schedule.
const plan = ['a', 'b', 'c'].map((text, order) => ({ text, key: 'k', order, slot: 0 }));
const delivered = (text: string, externalId: string) => ({ text, externalId, receivedAt: 0 });

function judge(left: object[], deliveries: object[] = []) {
  return analyse({
    plan,
    committed: new Set(['a', 'b', 'c']),
    ids: new Map(),
    deliveries,
    attempts: [],
    left,
    disruptions: [],
  });
}

describe('chaos judge', () => {
  it('a message settled failed / conversation-ended is counted as ended, not stuck or lost', () => {
    const r = judge(
      [{ text: 'c', status: 'failed', lastError: { code: 'conversation-ended' } }],
      [delivered('a', 'ia'), delivered('b', 'ib')],
    );
    expect([r.lost, r.stuck, r.ended]).toEqual([0, 0, 1]);
  });

  it('ended counts also when the message reached the old conversation before it ended', () => {
    const r = judge(
      [{ text: 'c', status: 'failed', lastError: { code: 'conversation-ended' } }],
      [delivered('a', 'ia'), delivered('b', 'ib'), delivered('c', 'ic')],
    );
    expect([r.lost, r.stuck, r.ended, r.duplicated]).toEqual([0, 0, 1, 0]);
  });

  it('any other message still held is stuck, failed with another code included', () => {
    const r = judge(
      [
        { text: 'b', status: 'pending' },
        { text: 'c', status: 'failed', lastError: { code: 'rejected' } },
      ],
      [delivered('a', 'ia')],
    );
    expect([r.lost, r.stuck, r.ended]).toEqual([0, 2, 0]);
  });

  it('order is judged by the order given (the call order), a message without one is not judged', () => {
    const judged = (order: (number | undefined)[], stored = ['c', 'a', 'b']) =>
      analyse({
        plan: ['a', 'b', 'c'].map((text, i) => ({ text, key: 'k', order: order[i], slot: 0 })),
        committed: new Set(['a', 'b', 'c']),
        ids: new Map(),
        deliveries: stored.map((t) => delivered(t, `i${t}`)),
        attempts: [],
        left: [],
        disruptions: [],
      }).reordered;
    expect(judged([0, 1, 2])).toBe(2); // c was called last and stored first
    expect(judged([1, 2, 0])).toBe(0); // c was called first: stored in call order
    expect(judged([0, 1, undefined])).toBe(0); // c's place unknown: a and b are in order
    expect(judged([1, 0, undefined])).toBe(1);
    // an unjudged message between two others does not hide their reorder
    expect(judged([1, 0, undefined], ['a', 'c', 'b'])).toBe(1);
  });

  it('a committed message neither delivered nor held is lost', () => {
    const r = judge([], [delivered('a', 'ia'), delivered('b', 'ib')]);
    expect([r.lost, r.stuck, r.ended]).toEqual([1, 0, 0]);
  });
});
