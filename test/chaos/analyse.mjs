// What a schedule did to the promise, counted at the simulator: lost, duplicated, repeats the
// server's de-duplication hid, repeats nothing explains, reordered, stuck, and ended (settled
// `failed` by design, visible to the user, never resent by the outbox itself).

/**
 * @param {object} r
 * @param {{text: string, key: string, order: number | undefined, slot: number}[]} r.plan  every message a schedule may send;
 *   `key` groups the messages whose delivery order is promised (one conversation of one producer), `order` their call order
 *   (undefined: not known, not judged for order)
 * @param {Set<string>} r.committed  texts whose send() resolved
 * @param {Map<string, string>} r.ids  text → entry id (the idempotency key), where known
 * @param {object[]} r.deliveries  simulator `delivered()`
 * @param {object[]} r.attempts  simulator `attempts()`
 * @param {{text: string}[] | undefined} r.left  what the outbox still held at the end (undefined: unknown)
 * @param {{at: number, until?: number, kind: string}[]} r.disruptions  kills, crashes, outages, socket drops,
 *   expiries (moments), slow links (from `at` to `until`)
 * @param {{key: string, at: number}[]} r.clientFailures  attempts the outbox itself saw fail (timeout,
 *   network error, 5xx): a repeat after one of them is needed
 * @param {{key: string, proc: number, start: number, end?: number, status?: number | 'error'}[]} [r.requests]
 *   HTTP: every message request as the clients saw it (`proc`: which process incarnation). When
 *   given, "not needed" is decided from it exactly (see unneededFromRequests)
 * @param {Map<number, number>} [r.deaths]  when each incarnation died (killed, crashed)
 */
/**
 * The storing attempt's `at` is when the simulator got to it, which on a loaded host can be
 * seconds after the client sent it, and after the client's timeout already reported it failed: a
 * failure seen by the client this long before the store still explains the repeat.
 */
const HOST_LAG_MS = 3000;

/** More requests than this for one message within one second is hammering the service. */
export const HAMMER_PER_SECOND = 20;

/**
 * A guest message that was in doubt when its session expired (or the visitor logged out) while the
 * process was away: its conversation cannot be read any more, so whether it arrived is unknowable,
 * and a resend would put a second copy into the new conversation. The transport settles it
 * `failed` with `conversation-ended` ("may be in the ended conversation"); the user sees it and may
 * retry. That is the promise kept (kept and visible, never duplicated), not a stuck message.
 */
export function endedByDesign(entry) {
  return entry.status === 'failed' && entry.lastError?.code === 'conversation-ended';
}

export function analyse({
  plan,
  committed,
  deliveries,
  attempts,
  left,
  disruptions,
  clientFailures = [],
  requests,
  deaths,
}) {
  const byText = new Map(plan.map((m) => [m.text, m]));
  const ours = deliveries.filter((d) => byText.has(d.text));
  const copies = new Map();
  for (const d of ours) copies.set(d.text, (copies.get(d.text) ?? 0) + 1);
  const endedTexts = new Set((left ?? []).filter(endedByDesign).map((e) => e.text));
  const leftTexts = new Set((left ?? []).filter((e) => !endedTexts.has(e.text)).map((e) => e.text));

  let lost = 0;
  let stuck = 0;
  const lostTexts = [];
  const stuckTexts = [];
  for (const text of committed) {
    if (copies.has(text) || endedTexts.has(text)) continue;
    if (leftTexts.has(text)) {
      stuck += 1;
      stuckTexts.push(text);
    } else {
      lost += 1;
      lostTexts.push(text);
    }
  }
  // Delivered, but still held by the outbox at the end: it would be sent again.
  for (const text of leftTexts) {
    if (copies.has(text)) {
      stuck += 1;
      stuckTexts.push(text);
    }
  }

  let duplicated = 0;
  for (const n of copies.values()) duplicated += n - 1;

  // Order: the first copy of each message, per promised line, must follow call order.
  let reordered = 0;
  const reorderedTexts = [];
  const highest = new Map();
  for (const d of ours) {
    if (d.duplicate) continue;
    const m = byText.get(d.text);
    if (m.order === undefined) continue; // its call order is not known
    const top = highest.get(m.key) ?? -1;
    if (m.order < top) {
      reordered += 1;
      reorderedTexts.push(d.text);
    } else highest.set(m.key, m.order);
  }

  // Repeats: attempts that arrived when the message was already stored.
  const keys = new Set(ours.map((d) => d.externalId).filter((k) => k !== undefined));
  const storedAt = new Map();
  for (const d of ours) if (!storedAt.has(d.externalId)) storedAt.set(d.externalId, d.receivedAt);
  const dropped = new Set(attempts.filter((a) => a.answerDropped).map((a) => a.key));
  let repeats = 0;
  let unneeded = 0;
  const unneededKeys = [];
  const unneededWhy = [];
  for (const a of attempts) {
    if (!a.alreadyStored || !keys.has(a.key)) continue;
    repeats += 1;
    if (dropped.has(a.key)) continue;
    const t0 = storedAt.get(a.key) - 50;
    // a disruption (a moment, or a slow link's interval) between the store and the repeat
    const explained =
      disruptions.some((e) => e.at <= a.at && (e.until ?? e.at) >= t0) ||
      clientFailures.some((f) => f.key === a.key && f.at >= t0 - HOST_LAG_MS && f.at <= a.at + 50);
    if (!explained) {
      unneeded += 1;
      unneededKeys.push(a.key);
      const base = disruptions[0]?.at ?? storedAt.get(a.key);
      unneededWhy.push({
        key: a.key,
        storedAt: storedAt.get(a.key) - base,
        repeatAt: a.at - base,
        disruptions: disruptions.map(
          (e) => `${e.kind}@${e.at - base}${e.until ? `-${e.until - base}` : ''}`,
        ),
      });
    }
  }
  if (requests !== undefined) {
    const exact = unneededFromRequests(requests, deaths ?? new Map());
    unneeded = exact.count;
    unneededWhy.length = 0;
    unneededWhy.push(...exact.why);
  }
  const attemptsOurs = attempts.filter((a) => keys.has(a.key)).length;
  // Hammering: the most requests for one message within one second (no backoff honoured).
  let most = 0;
  const times = new Map();
  for (const a of attempts) {
    if (a.key === undefined) continue; // each schedule has its own simulator: every key is ours
    const list = times.get(a.key) ?? [];
    list.push(a.at);
    times.set(a.key, list);
  }
  for (const list of times.values()) {
    for (let i = 0, j = 0; j < list.length; j++) {
      while (list[j] - list[i] > 1000) i++;
      most = Math.max(most, j - i + 1);
    }
  }
  return {
    messages: committed.size,
    lost,
    duplicated,
    // Repeats that were not stored again: the server's de-duplication (409, tracingId) hid them.
    hidden: Math.max(0, repeats - duplicated),
    repeats,
    unneeded,
    reordered,
    stuck,
    ended: [...endedTexts].filter((t) => committed.has(t)).length,
    attempts: attemptsOurs,
    hammer: most > HAMMER_PER_SECOND ? most : 0,
    detail: {
      lostTexts,
      stuckTexts,
      endedTexts: [...endedTexts],
      stuckEntries: (left ?? []).slice(0, 5),
      reorderedTexts,
      unneededKeys: [...new Set(unneededKeys)],
      unneeded: unneededWhy.slice(0, 5),
    },
  };
}

/**
 * From the clients' own view of their requests: a request for a message is not needed when the
 * previous request for it (by any process on the store) was still in flight (two senders at once),
 * or had its answer (2xx, 409: delivered) and the process that got it lived on. It is needed
 * after a request that failed (timeout, reset, refused, 5xx, 429, 401) or whose process died
 * before recording the answer.
 */
export function unneededFromRequests(requests, deaths) {
  const byKey = new Map();
  for (const q of requests) {
    if (q.key === undefined) continue;
    const list = byKey.get(q.key) ?? [];
    list.push(q);
    byKey.set(q.key, list);
  }
  let count = 0;
  const why = [];
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1];
      const q = list[i];
      const died = deaths.get(prev.proc);
      const prevDead = died !== undefined && died <= q.start;
      let reason;
      if (prev.end === undefined || prev.end > q.start) {
        if (!prevDead || prev.proc === q.proc) reason = 'while the previous request was in flight';
      } else if (
        (prev.status === 409 || (typeof prev.status === 'number' && prev.status < 300)) &&
        !prevDead
      ) {
        reason = `after the previous request was answered ${prev.status}`;
      }
      if (reason !== undefined) {
        count += 1;
        why.push({ key, reason, procs: `${prev.proc}->${q.proc}` });
      }
    }
  }
  return { count, why: why.slice(0, 5) };
}

/**
 * The moments of a schedule that may cost an answer (kills, drops, reloads): `disrupt(kind)` records
 * one, reaching as far as the requests the simulator is still holding back (latency, delayed
 * frames), which it stores after the moment.
 */
export function disruptionLog(sim) {
  const disruptions = [];
  const disrupt = (kind) => {
    const state = sim.control.state();
    const at = Date.now();
    disruptions.push({
      at,
      until: at + state.faults.latencyMs + state.guest.frames.delayMs + 50,
      kind,
    });
  };
  return { disruptions, disrupt };
}
