// A fixed list of chat messages for the benchmarks that must not store a text that compresses to
// nothing: 'x'.repeat(200) is a worst case for encryption at rest (Chromium's IndexedDB compresses
// stored values, ciphertext does not compress), real chat text compresses little. The list is
// built from short phrases by a seeded generator, so every run, and both contenders of a run, see
// exactly the same texts: 512 messages of 10-300 characters, varied words, numbers, punctuation.
import { prng } from '../../test/chaos/prng.mjs';

const PHRASES = [
  'hi',
  'hello there',
  'good morning',
  'thanks!',
  'ok',
  'is anyone there?',
  'my parcel has not arrived yet',
  'the tracking page says it left the depot on Monday',
  'order number 4471-2289',
  'I paid with a card ending in 0193',
  'can I change the delivery address to my office?',
  'the size is wrong, I need a 42 instead of a 40',
  'how long does a refund usually take',
  'I was charged twice for the same subscription',
  'the app logs me out every few minutes',
  'it worked fine until yesterday evening',
  'I tried clearing the cache and reinstalling',
  'could you send me the invoice by email',
  'my email is on the account, the one ending in @example.org',
  'no rush, whenever you get a chance',
  'sorry, I meant the blue one, not the grey one',
  'what are your opening hours on Saturday?',
  'is there a store near Lyon or Grenoble',
  'the discount code SPRING15 is not accepted at checkout',
  'I would like to cancel my plan from next month',
  'can you confirm the booking for 3 people at 19:30',
  'the screen flickers when the battery is below 20%',
  'please call me back, my number is in my profile',
  'that fixed it, thank you so much',
  'still the same error: "payment declined (code 51)"',
  'why was my account suspended?',
  'I never received the verification code',
  'my neighbour signed for it but it is not here',
  'the box was damaged and the glass inside is broken',
  'do you ship to Norway?',
  'I am on the train, the connection keeps dropping',
  'one more question',
  'great, have a nice day',
  'what does "pending review" mean for my application',
  'the price went up from 12.99 to 14.49 without notice',
];

const MIN = 10;
const MAX = 300;

function build(count, seed) {
  const random = prng(seed);
  const out = [];
  while (out.length < count) {
    // Most chat messages are short: 1-2 phrases usually, up to 6 now and then.
    const parts = random.chance(0.7) ? random.int(1, 2) : random.int(3, 6);
    let text = random.pick(PHRASES);
    for (let i = 1; i < parts; i++)
      text += (random.chance(0.5) ? ', ' : '. ') + random.pick(PHRASES);
    if (random.chance(0.3)) text = text[0].toUpperCase() + text.slice(1);
    if (text.length > MAX) text = text.slice(0, MAX);
    if (text.length < MIN) text += ' ' + random.pick(PHRASES);
    out.push(text);
  }
  return out;
}

/** The messages, in order; message `i` of a run is `CHAT_TEXTS[i % CHAT_TEXTS.length]`. */
export const CHAT_TEXTS = build(512, 14);
