// uuid(): crypto.randomUUID where there is one; else (a page served over plain http, where
// browsers hide randomUUID) a version-4 UUID made from getRandomValues.
import { describe, expect, it, vi } from 'vitest';
import { uuid } from '../../src/internal/uuid.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuid', () => {
  it('without randomUUID: version 4, variant 10, lower-case hex, every byte where it belongs', () => {
    // An own property that hides Crypto.prototype.randomUUID; deleted afterwards.
    Object.defineProperty(globalThis.crypto, 'randomUUID', {
      value: undefined,
      configurable: true,
    });
    const random = vi
      .spyOn(globalThis.crypto, 'getRandomValues')
      .mockImplementationOnce(<T extends ArrayBufferView | null>(a: T): T => {
        (a as unknown as Uint8Array).set([
          0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0xff, 0x07, 0xff, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
          0xf0,
        ]);
        return a;
      });
    try {
      expect(uuid()).toBe('00010203-0405-4f07-bf09-0a0b0c0d0ef0');
      const many = Array.from({ length: 1000 }, () => uuid());
      for (const u of many) expect(u).toMatch(V4);
      expect(new Set(many).size).toBe(1000);
    } finally {
      random.mockRestore();
      delete (globalThis.crypto as { randomUUID?: unknown }).randomUUID;
    }
    expect(uuid()).toMatch(V4); // randomUUID again
  });
});
