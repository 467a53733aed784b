// Every frame fixture written from Genesys' own SDK (test/fixtures/genesys-frames.ts) goes through
// the transport's parser and is classified as that SDK treats it.
import { describe, expect, it } from 'vitest';
import { frames, historyPage } from '../fixtures/genesys-frames.js';
import { parseFrame, parseMessage, type GuestMessage } from '../../src/transport/guest/frames.js';
import { matchInDoubt } from '../../src/transport/guest/reconcile.js';

describe('Genesys SDK frames through parseFrame', () => {
  it.each(frames.map((f) => [f.name, f] as const))('%s', (_name, fixture) => {
    expect(parseFrame(fixture.frame)).toMatchObject(fixture.expect);
  });

  it('covers every class the Guest API sends (genesys-api.md §4)', () => {
    const classes = new Set(frames.map((f) => (JSON.parse(f.frame) as { class: string }).class));
    for (const c of [
      'string',
      'SessionResponse',
      'StructuredMessage',
      'JwtResponse',
      'TooManyRequestsErrorMessage',
      'SessionExpiredEvent',
      'SessionClearedEvent',
      'ConnectionClosedEvent',
      'LogoutEvent',
      'PresignedUrlResponse',
      'UploadSuccessEvent',
      'UploadFailureEvent',
      'AttachmentDeletedResponse',
      'GenerateUrlError',
    ])
      expect(classes).toContain(c);
  });
});

describe('history as Genesys shows it', () => {
  const page = historyPage.entities
    .map(parseMessage)
    .filter((m): m is GuestMessage => m !== undefined);

  it('keeps each entry type', () => {
    expect(page.map((m) => [m.type, m.direction])).toEqual([
      ['Text', 'Outbound'],
      ['Event', 'Inbound'],
      ['Structured', 'Outbound'],
    ]);
  });

  it('an Inbound Event entry with the same text is not taken for an in-doubt message', () => {
    // The Event has no usable time in the fixture; give it one inside the window.
    const withTime = page.map((m) => ({ ...m, time: 1_000 }));
    const found = matchInDoubt([{ id: 'e1', text: 'customer msg 7', createdAt: 1_000 }], withTime, {
      claimed: new Set(),
      skewMs: 0,
      now: 2_000,
    });
    expect(found.size).toBe(0);
    // The same entry as a Text message is a match (the type is the only difference).
    const asText = withTime.map((m) => (m.type === 'Event' ? { ...m, type: 'Text' } : m));
    expect(
      matchInDoubt([{ id: 'e1', text: 'customer msg 7', createdAt: 1_000 }], asText, {
        claimed: new Set(),
        skewMs: 0,
        now: 2_000,
      }).get('e1')?.id,
    ).toBe('46e7001c24abed05e9bcd1a006eb54b7');
  });
});
