/**
 * Typed errors. Each carries the context a log line or a caller needs to act on it without parsing the message.
 */

/** A byte stream that does not follow the framing: bad length, wrong first frame, malformed body. */
export class RelayProtocolError extends Error {
  override readonly name: string = 'RelayProtocolError';
  constructor(
    message: string,
    /** What was being decoded or checked when it failed, e.g. 'decode', 'register', 'hello'. */
    readonly operation: string,
    /** The frame type involved, when known. */
    readonly frameType?: number,
  ) {
    super(message);
  }
}

/** A frame length outside 1..65536. The stream cannot be resynchronised after this. */
export class FrameLengthError extends RelayProtocolError {
  override readonly name: string = 'FrameLengthError';
  constructor(readonly length: number) {
    super(frameLengthMessage(length), 'decode');
  }
}

/** The text of a FrameLengthError, for callers that report the failure without building the Error. */
export const frameLengthMessage = (length: number): string => `frame length ${length} outside 1..65536`;

/** Key-ownership proof failed or was refused. */
export class RelayAuthError extends Error {
  override readonly name: string = 'RelayAuthError';
  constructor(
    message: string,
    /** base64 public key the proof was about, when known. */
    readonly peer?: string,
  ) {
    super(message);
  }
}

/** A relay connection failed (connect, socket error, closed by the relay). */
export class RelayConnectionError extends Error {
  override readonly name: string = 'RelayConnectionError';
  constructor(
    message: string,
    readonly operation: string,
    /** 'host:port' of the relay. */
    readonly address: string,
    readonly errno?: string,
  ) {
    super(message);
  }
}

/** Invalid arguments to a public function (wrong key length, bad port). */
export class RelayArgumentError extends Error {
  override readonly name: string = 'RelayArgumentError';
  constructor(
    message: string,
    readonly argument: string,
  ) {
    super(message);
  }
}
