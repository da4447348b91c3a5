/**
 * Server-sent events from a byte stream, parsed by eventsource-parser (WHATWG HTML "event
 * stream" interpretation: \n, \r\n and \r line ends split anywhere across chunks, comments,
 * multi-line data). Two things are added here: the last event id carries over to later events
 * as the spec's "last event ID buffer" does (an id sent in an event without data is not seen:
 * the library reports ids with events only), and a final event the server closed without its
 * blank line is still delivered (some servers end that way).
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export async function* parseSse(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  // The decoder drops a leading BOM and keeps a character split across chunks until it is whole.
  const decoder = new TextDecoder('utf-8');
  let lastId: string | undefined;
  let ready: SseEvent[] = [];
  const parser = createParser({
    onEvent(message: EventSourceMessage) {
      if (message.id !== undefined) lastId = message.id;
      ready.push({ event: message.event || 'message', data: message.data, id: lastId });
    },
  });
  const drain = function* () {
    const events = ready;
    ready = [];
    yield* events;
  };
  for await (const chunk of chunks) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    yield* drain();
  }
  // Ends the last line and the last event (no-ops when the stream already ended both).
  parser.feed(decoder.decode() + '\n\n');
  yield* drain();
}
