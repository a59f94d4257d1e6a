/** A failure reported by (or about) the guest agent; `code` is a guest protocol code or GUEST_*. */
export class GuestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GuestError';
  }
}
