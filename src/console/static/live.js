// Polling at most every 5 s while the page is visible: figures refresh without a reload.
import { useEffect, useState, useCallback } from './vendor/preact-htm.js';

export const refreshMs = 5_000;

export function useLive(load, deps = []) {
  const [state, setState] = useState({ data: undefined, error: undefined, at: null });
  const run = useCallback(async () => {
    try {
      setState({ data: await load(), error: undefined, at: new Date() });
    } catch (error) {
      setState((s) => ({ ...s, error }));
    }
  }, deps);
  useEffect(() => {
    run();
    const timer = setInterval(() => { if (document.visibilityState === 'visible') run(); }, refreshMs);
    return () => clearInterval(timer);
  }, [run]);
  return { ...state, reload: run };
}

export function useOnce(load, deps = []) {
  const [state, setState] = useState({ data: undefined, error: undefined });
  const run = useCallback(async () => {
    try {
      setState({ data: await load(), error: undefined });
    } catch (error) {
      setState({ data: undefined, error });
    }
  }, deps);
  useEffect(() => { run(); }, [run]);
  return { ...state, reload: run };
}
