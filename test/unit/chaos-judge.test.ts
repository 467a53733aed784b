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

  it('a committed message neither delivered nor held is lost', () => {
    const r = judge([], [delivered('a', 'ia'), delivered('b', 'ib')]);
    expect([r.lost, r.stuck, r.ended]).toEqual([1, 0, 0]);
  });
});
