// A prompt reduced to what counting needs: the texts to tokenize one by one (each with the model's
// encoding: BPE of a concatenation differs from the sum of its parts) and the tokens already known
// without tokenizing (per-message framing, reply priming, images). Building a plan is a cheap walk
// over the body; counting its texts is the expensive part, and the only part sent to the pool.

export interface PromptPlan {
  readonly texts: readonly string[];
  readonly fixedTokens: number;
  // True when the formula is not exact for this request: unknown image sizes, parts whose cost
  // the gateway cannot see (audio, files), or a model without a public tokenizer.
  readonly estimated: boolean;
}

export interface PlanBuilder {
  text(value: string): void;
  fixed(tokens: number): void;
  estimate(): void;
  build(): PromptPlan;
}

export function createPlanBuilder(): PlanBuilder {
  const texts: string[] = [];
  let fixedTokens = 0;
  let estimated = false;
  return {
    text: (value) => {
      if (value.length > 0) texts.push(value);
    },
    fixed: (tokens) => {
      fixedTokens += tokens;
    },
    estimate: () => {
      estimated = true;
    },
    build: () => ({ texts, fixedTokens, estimated }),
  };
}

export function planChars(plan: PromptPlan): number {
  let chars = 0;
  for (const text of plan.texts) chars += text.length;
  return chars;
}
