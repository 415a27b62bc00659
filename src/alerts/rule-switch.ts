// A rule that can be turned off while the gateway runs: off, it watches nothing, and the alerts it
// last reported firing are cleared once (with their resolved notices) instead of firing forever.
import type { AlertInput, AlertRule } from './source.js';

export function switchableRule(rule: AlertRule, enabled: () => boolean): AlertRule {
  let firing = new Map<string, AlertInput>();
  return {
    name: rule.name,
    async evaluate(nowMs) {
      if (!enabled()) {
        const cleared = [...firing.values()].map((input) => ({ input, firing: false }));
        firing = new Map();
        return cleared;
      }
      const findings = await rule.evaluate(nowMs);
      firing = new Map(findings.filter((f) => f.firing).map((f) => [f.input.fingerprint, f.input]));
      return findings;
    },
  };
}
