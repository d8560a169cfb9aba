/**
 * nats.js JetStream failures as {@linkcode BusError}s, told apart by nats.js's
 * error classes and JetStream API codes (never by message text, which
 * changes between releases and servers).
 *
 * @module
 */
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
// nats.js 3.4 exports `JetStreamNotEnabled` only on this entry point (its own
// tests import it from there too).
import { jserrors } from "@nats-io/jetstream/internal";
import {
  ClosedConnectionError,
  DrainingConnectionError,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node";
import { BusError } from "./types.ts";

/**
 * Classifies a JetStream failure. `what` names the operation for the message.
 *
 * @example
 * ```ts
 * try {
 *   await jsm.streams.info("WORLD_UPDATES");
 * } catch (e) {
 *   if (jetStreamError(e, "stream info").code === "stream_not_found") create();
 * }
 * ```
 */
export function jetStreamError(e: unknown, what: string): BusError {
  if (e instanceof BusError) return e;
  // nats.js turns "no responders" on a JetStream API or publish subject into
  // this: JetStream is off, or (for a publish) no stream stores the subject.
  if (e instanceof jserrors.JetStreamNotEnabled) {
    return new BusError(
      "jetstream_unavailable",
      `${what}: JetStream is not enabled, or no stream stores the subject`,
      { cause: e },
    );
  }
  if (e instanceof JetStreamApiError) {
    if (e.code === JetStreamApiCodes.StreamNotFound) {
      return new BusError("stream_not_found", `${what}: stream not found`, { cause: e });
    }
    if (
      e.code === JetStreamApiCodes.StreamWrongLastSequence ||
      e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown
    ) {
      return new BusError(
        "wrong_revision",
        `${what}: the key moved on (JetStream error ${e.code})`,
        {
          cause: e,
        },
      );
    }
    return new BusError("rejected", `${what}: ${e.message} (JetStream error ${e.code})`, {
      cause: e,
    });
  }
  if (e instanceof RequestError && e.isNoResponders()) {
    return new BusError("jetstream_unavailable", `${what}: no responders`, { cause: e });
  }
  if (e instanceof TimeoutError || (e as Error)?.cause instanceof TimeoutError) {
    return new BusError("timeout", `${what} timed out`, { cause: e });
  }
  if (e instanceof ClosedConnectionError || e instanceof DrainingConnectionError) {
    return new BusError("disconnected", `${what}: connection closed`, { cause: e });
  }
  return new BusError("failed", `${what} failed: ${e}`, { cause: e });
}
