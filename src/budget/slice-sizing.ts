// How big a slice a replica asks for (pure integer math; the store then caps the grant at a share
// of the free room that shrinks as the limit nears, see lua/slice-take.lua). A slice should last
// about sliceMs at this replica's recent rate, so a busy replica asks Redis rarely, and cover at
// least minRequests requests of the size that asked, or it would not save a call per request.
export const sliceMs = 2_000;

// amount: one request's amount in slice units; ratePerS: slice units spent per second here since
// the last take (0 when unknown).
export function sliceWant(amount: number, ratePerS: number, minRequests: number): number {
  return Math.max(amount * minRequests, Math.ceil((ratePerS * sliceMs) / 1000));
}
