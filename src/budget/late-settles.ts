// Settles that land after the reaper returned their reservation ("late"): the request outlived its
// lease (its replica could not renew within budget.leaseMs: starved of CPU, or cut off from Redis)
// and the reaper took it for dead. Its usage is still charged, but the room its reservation held
// was free in between, so requests admitted then can take a budget past its limit by at most that
// request's usage (DESIGN.md, "Leases and late settles"). The same holds for requests admitted
// against a replica's slices whose flush finds the slices reaped. Counted and logged so an
// operator sees a lease too short for the traffic. Wraps the store, so retried settles are seen too.
import type { BudgetStore, StoreSettleRequest } from './store.js';

export function observingLateSettles(store: BudgetStore, onLate: (request: StoreSettleRequest) => void): BudgetStore {
  return {
    ...store,
    async settle(request) {
      const result = await store.settle(request);
      if (result.status === 'late') onLate(request);
      return result;
    },
    async flushSlices(orgId, holderId, nowMs, deadlineMs, items, events) {
      const result = await store.flushSlices(orgId, holderId, nowMs, deadlineMs, items, events);
      if (!result.leased) {
        for (const event of events) onLate({ id: event.requestId, orgId, nowMs, actualTokens: event.promptTokens + event.completionTokens, actualCostMicros: event.costMicros, event });
      }
      return result;
    },
  };
}
