// One sender per SQLite file (issue 10, defect 3), in one process with a fake clock: two outboxes
// on one file, only the lease holder sends; the standby's messages reach the holder through the
// lease row; the standby takes over after the holder closes or stops renewing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import type { Outbox } from '../../src/outbox/createOutbox.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import { silentLogger } from '../../src/internal/logger.js';
import { FakeClock } from '../helpers/fakeClock.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { rejectionCode, thrownCode } from '../helpers/errorCode.js';
import { waitFor } from '../helpers/waitFor.js';

describe('sqliteStore: one sender per file', () => {
  let dir: string;
  const open: Outbox[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((o) => o.close()));
    await rm(dir, { recursive: true, force: true });
  });

  const two = async () => {
    dir = await mkdtemp(join(tmpdir(), 'outbox-lease-'));
    const path = join(dir, 'o.db');
    const clock = new FakeClock();
    const make = async (t: ScriptedTransport) => {
      const o = await createOutbox({
        transport: t,
        store: sqliteStore({ path }),
        clock,
        random: () => 1,
        logger: silentLogger,
      });
      open.push(o);
      return o;
    };
    const ta = new ScriptedTransport();
    const tb = new ScriptedTransport();
    const a = await make(ta);
    const b = await make(tb);
    return { clock, a, b, ta, tb };
  };

  it('only the holder sends; what the standby stores goes out through the holder, once', async () => {
    const { clock, a, b, ta, tb } = await two();
    await a.send({ text: 'a1' });
    await waitFor(() => ta.delivered.length === 1, { what: 'a1' });
    const b1 = await b.send({ text: 'b1' });
    // A standby's flush asks the holder and resolves once the holder tried b1 (standbyFlush.ts).
    let flushed = false;
    const flushing = b.flush().then(() => (flushed = true));
    // The holder reads the wake request at its next renewal.
    for (let i = 0; i < 5 && ta.delivered.length < 2; i++) {
      expect(flushed).toBe(false);
      clock.advance(1000);
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => ta.delivered.length === 2, { what: 'b1 through the holder' });
    for (let i = 0; i < 5 && !flushed; i++) {
      clock.advance(1000);
      await new Promise((r) => setTimeout(r, 20));
    }
    await flushing;
    expect(ta.delivered.map((e) => e.text)).toEqual(['a1', 'b1']);
    expect(ta.delivered[1]!.id).toBe(b1.id);
    expect(tb.calls).toEqual([]);
  });

  it('the standby takes over once the holder closed', async () => {
    const { clock, a, b, ta, tb } = await two();
    await a.close();
    open.splice(open.indexOf(a), 1);
    await b.send({ text: 'after' });
    for (let i = 0; i < 5 && tb.delivered.length === 0; i++) {
      clock.advance(1000);
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => tb.delivered.length === 1, { what: 'the standby sends' });
    expect(ta.calls).toEqual([]);
  });

  it('fencing: a holder whose lease was taken over while it stalled cannot write as the sender', async () => {
    dir = await mkdtemp(join(tmpdir(), 'outbox-lease-'));
    const path = join(dir, 'o.db');
    const sa = sqliteStore({ path });
    const sb = sqliteStore({ path });
    const [entry] = await sa.append([
      { id: 'x1', conversationId: 'c', text: 'x', status: 'pending', attempts: 0, createdAt: 1 },
    ]);
    // Two clocks: A's stands still (its process stalled), B's goes on.
    const clockA = new FakeClock();
    const clockB = new FakeClock();
    const handlers = { onLeadershipChange() {}, onRemoteEvent() {}, onWakeRequest() {} };
    const ca = sa.coordinator!({ clock: clockA });
    const cb = sb.coordinator!({ clock: clockB });
    try {
      ca.start(handlers);
      await ca.ready?.();
      cb.start(handlers);
      await cb.ready?.();
      expect([ca.isLeader(), cb.isLeader()]).toEqual([true, false]);
      // A's writes as the sender go through while it holds the lease.
      const sending = await sa.update({ ...entry!, status: 'sending' }, { sender: true });
      expect(sending.status).toBe('sending');
      // B looks again past A's lease (ttl 3000): A never renewed, so B takes it over.
      clockB.advance(5000);
      await waitFor(() => cb.isLeader(), { what: 'B takes the lease over' });
      // A resumes and, not having looked at the lease yet, writes its verdict: refused.
      expect(
        await rejectionCode(() =>
          sa.update({ ...entry!, status: 'pending', attempts: 1 }, { sender: true }),
        ),
      ).toBe('lease-lost');
      expect((await sb.get('x1'))?.status).toBe('sending');
      // The new holder writes as the sender; anyone may still write as the user (retry).
      expect((await sb.update({ ...entry!, status: 'failed' }, { sender: true })).status).toBe(
        'failed',
      );
      expect((await sa.update({ ...entry!, status: 'pending' }, { requeue: true })).status).toBe(
        'pending',
      );
      // And once A looks at the lease, it knows it is a standby.
      clockA.advance(1000);
      await waitFor(() => !ca.isLeader(), { what: 'A is a standby' });
    } finally {
      await ca.close();
      await cb.close();
      await sa.close();
      await sb.close();
    }
  });

  it('lease: false: the store brings no coordinator (the caller coordinates its processes)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'outbox-lease-'));
    const s = sqliteStore({ path: join(dir, 'o.db'), lease: false });
    expect(s.coordinator).toBeUndefined();
    await s.close();
  });

  it('bad lease and busyTimeoutMs options are invalid-options at construction', async () => {
    dir = await mkdtemp(join(tmpdir(), 'outbox-lease-'));
    const path = join(dir, 'o.db');
    for (const bad of [
      { busyTimeoutMs: -1 },
      { busyTimeoutMs: Number.NaN },
      { busyTimeoutMs: Number.POSITIVE_INFINITY },
      { lease: { renewMs: 0 } },
      { lease: { ttlMs: 500, renewMs: 1000 } },
      { lease: 'yes' },
    ]) {
      expect(thrownCode(() => sqliteStore({ path, ...(bad as object) }))).toBe('invalid-options');
    }
  });
});
