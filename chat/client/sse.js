/**
 * Server-Sent Events over `fetch` (for `POST /api/v0.3/chat`, which an
 * EventSource cannot send): a small line parser per the SSE spec (`event:`,
 * `data:`, `id:`, comments, CRLF or LF) and a reader that hands each
 * complete message to a callback as soon as its blank line arrives.
 *
 * @module
 */

/**
 * Incremental SSE parser: feed text chunks, get `{event, data, id}` messages.
 *
 * @example
 * ```js
 * const parser = new SseParser((m) => console.log(m.event, m.data));
 * parser.feed("event: content\ndata: {}\n\n");
 * ```
 */
export class SseParser {
  /** @param {(msg: {event: string, data: string, id: string | undefined}) => void} onMessage */
  constructor(onMessage) {
    this.onMessage = onMessage;
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.event = "";
    this.data = [];
    this.id = undefined;
  }

  /** @param {string} chunk */
  feed(chunk) {
    this.buffer += chunk;
    for (;;) {
      const nl = this.buffer.search(/\r\n|\r|\n/);
      if (nl < 0) return;
      const line = this.buffer.slice(0, nl);
      const width = this.buffer.startsWith("\r\n", nl) ? 2 : 1;
      // A lone trailing CR may be the first half of CRLF: wait for more.
      if (width === 1 && this.buffer[nl] === "\r" && nl === this.buffer.length - 1) return;
      this.buffer = this.buffer.slice(nl + width);
      this.line(line);
    }
  }

  /** @param {string} line */
  line(line) {
    if (line === "") {
      if (this.data.length > 0) {
        this.onMessage({ event: this.event || "message", data: this.data.join("\n"), id: this.id });
      }
      this.reset();
      return;
    }
    if (line.startsWith(":")) return; // comment / keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.id = value;
    // `retry:` and unknown fields do not matter for a one-shot stream.
  }
}

/**
 * POSTs JSON and reads the SSE answer, calling `onMessage` per message.
 * Resolves when the stream ends; throws an Error with `status` and `code`
 * when the server answers with a JSON error instead of a stream.
 *
 * @example
 * ```js
 * await postSse("/api/v0.3/chat", { message: "look", experience: "x" }, token, (m) => {});
 * ```
 * @param {string} url
 * @param {unknown} body
 * @param {string} token
 * @param {(msg: {event: string, data: string, id: string | undefined}) => void} onMessage
 */
export async function postSse(url, body, token, onMessage) {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "Authorization": `Bearer ${token}`,
      "Content-Type": "application/json",
      "Accept": "text/event-stream",
    },
    body: JSON.stringify(body),
  });
  const type = res.headers.get("Content-Type") ?? "";
  if (!res.ok || !type.startsWith("text/event-stream") || !res.body) {
    let error = { code: "http_error", message: `the server answered ${res.status}` };
    try {
      error = (await res.json()).error ?? error;
    } catch { /* not JSON */ }
    throw Object.assign(new Error(error.message), { status: res.status, code: error.code });
  }
  const parser = new SseParser(onMessage);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  parser.feed("\n\n"); // a final message without its blank line still counts
}
