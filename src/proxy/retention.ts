// The process-wide budget of answer bytes kept for usage accounting. Each request keeps what it
// needs to estimate usage (a non-streamed body, a stream's delivered text) only while this budget
// and its own cap allow; past either, it falls back to a usage scan and, when the provider's usage
// is missing, to charging its reservation. Bounded, so many large answers at once cannot exhaust
// memory.
export interface RetentionBudget {
  // Takes bytes from the budget; false (and nothing taken) when they do not fit.
  take(bytes: number): boolean;
  give(bytes: number): void;
  readonly retainedBytes: number;
}

export function createRetentionBudget(maxBytes: number): RetentionBudget {
  let retained = 0;
  return {
    take(bytes) {
      if (retained + bytes > maxBytes) return false;
      retained += bytes;
      return true;
    },
    give(bytes) {
      retained -= bytes;
    },
    get retainedBytes() {
      return retained;
    },
  };
}
