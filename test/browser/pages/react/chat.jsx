// The demo's chat list, in React 19, on genesys-webmessaging-outbox/react (bundled by esbuild in
// test/browser/global-setup.mjs; driven by test/browser/react.spec.mjs). `window.chat.start()`
// creates the outbox (HTTP transport to the simulator) and renders <Chat outbox={…} />.
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { createOutbox, httpTransport } from 'genesys-webmessaging-outbox';
import {
  useConnectivity,
  useOutboxEntries,
  useTranscript,
} from 'genesys-webmessaging-outbox/react';

const CONVERSATION = 'react-chat';
const renders = { chat: 0 };

function statusText(status) {
  switch (status) {
    case 'pending':
      return 'queued';
    case 'sending':
      return 'sending…';
    case 'failed':
      return 'not sent';
    default:
      return 'sent';
  }
}

function Line({ line, failedEntry, outbox }) {
  const status = line.direction === 'Inbound' ? (line.status ?? 'sent') : undefined;
  return (
    <li className={line.direction === 'Inbound' ? 'mine' : 'theirs'} data-status={status}>
      <span className="text">{line.text}</span>
      {status && <span className="status">{statusText(status)}</span>}
      {failedEntry && (
        <span className="actions">
          <span className="reason">{failedEntry.lastError?.message}</span>
          <button data-op="retry" onClick={() => outbox.retry(failedEntry.id)}>
            Retry
          </button>
          <button data-op="discard" onClick={() => outbox.discard(failedEntry.id)}>
            Discard
          </button>
        </span>
      )}
    </li>
  );
}

function Chat({ outbox }) {
  renders.chat += 1;
  const lines = useTranscript(outbox, CONVERSATION);
  const entries = useOutboxEntries(outbox);
  const online = useConnectivity(outbox);
  const [text, setText] = useState('');
  const failed = new Map(entries.filter((e) => e.status === 'failed').map((e) => [e.id, e]));
  const waiting = entries.filter((e) => e.status !== 'failed').length;
  return (
    <main>
      <p id="banner" data-state={online ? 'online' : 'offline'}>
        {online ? 'Connected' : 'Offline: messages are kept and sent when the network returns'}
        {waiting > 0 && <span id="waiting"> ({waiting} waiting)</span>}
      </p>
      <ol id="messages">
        {lines.map((line) => (
          <Line key={line.key} line={line} failedEntry={failed.get(line.key)} outbox={outbox} />
        ))}
      </ol>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim() === '') return;
          // The tutorial's endpoint wants the guest's id (metadata.guestId).
          void outbox.send({ text, conversationId: CONVERSATION, metadata: { guestId: 'g1' } });
          setText('');
        }}
      >
        <input id="text" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit">Send</button>
      </form>
    </main>
  );
}

window.chat = {
  renders,
  async start({ url, token, name }) {
    const outbox = await createOutbox({
      name,
      transport: httpTransport({ url, getAccessToken: () => token, timeoutMs: 5000 }),
      retry: { baseDelayMs: 100, maxDelayMs: 1000 },
    });
    window.chat.outbox = outbox;
    createRoot(document.getElementById('root')).render(
      <StrictMode>
        <Chat outbox={outbox} />
      </StrictMode>,
    );
  },
};
window.chat.ready = true;
