// What one delivery attempt came to, for any channel type. The sender turns it into the outbox
// row's next state: sent, retried later, or dropped with the channel disabled (gone).
export type DeliveryResult =
  | { readonly outcome: 'sent'; readonly status: number | null }
  | {
      readonly outcome: 'retry';
      readonly status: number | null;
      readonly error: string;
      // The receiver's Retry-After, when it sent one.
      readonly retryAfterMs?: number | undefined;
    }
  // 410 Gone: the receiver asks never to be called again.
  | { readonly outcome: 'gone'; readonly status: number; readonly error: string }
  // Will never succeed as configured (a refused destination, a rejected mailbox).
  | { readonly outcome: 'rejected'; readonly status: number | null; readonly error: string };
