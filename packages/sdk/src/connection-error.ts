/** The manager could not be reached at all (no HTTP answer): the CLI says where it tried. */
export class ConnectionError extends Error {
  constructor(
    readonly baseUrl: string,
    cause: Error,
  ) {
    super(
      `Connecting to the Hearth manager at ${baseUrl} failed: ${(cause as { cause?: Error }).cause?.message ?? cause.message}`,
    );
    this.name = 'ConnectionError';
  }
}
