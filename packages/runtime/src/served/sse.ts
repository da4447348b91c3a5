/**
 * Server-sent events parser (WHATWG HTML "event stream" interpretation), small enough to own:
 * accepts \n, \r\n and \r line ends, split anywhere across chunks, comments, multi-line data
 * and a leading BOM.
 */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export async function* parseSse(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder('utf-8');
  let buffer = '';
  let first = true;
  let data: string[] = [];
  let event = '';
  let id: string | undefined;
  let sawData = false;

  const flushEvent = (): SseEvent | undefined => {
    if (!sawData) {
      event = '';
      return undefined;
    }
    const out: SseEvent = { event: event || 'message', data: data.join('\n'), id };
    data = [];
    event = '';
    sawData = false;
    return out;
  };

  const handleLine = (line: string): SseEvent | undefined => {
    if (line === '') return flushEvent();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      data.push(value);
      sawData = true;
    } else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) id = value;
    return undefined;
  };

  for await (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true });
    if (first && buffer.length > 0) {
      if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
      first = false;
    }
    // A lone trailing \r may be the first half of \r\n: keep it until the next chunk.
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i === buffer.length - 1) break;
      const line = buffer.slice(start, i);
      if (c === 13 && buffer.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
      const ev = handleLine(line);
      if (ev) yield ev;
    }
    buffer = buffer.slice(start);
  }
  buffer += decoder.decode();
  if (buffer.length > 0) {
    // The spec drops an unterminated final event; some servers close without the blank line, so keep it.
    for (const line of buffer.split(/\r\n|\r|\n/)) {
      const ev = handleLine(line);
      if (ev) yield ev;
    }
  }
  const tail = flushEvent();
  if (tail) yield tail;
}
