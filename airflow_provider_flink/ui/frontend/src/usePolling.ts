import { useCallback, useEffect, useRef, useState } from "react";

export const REFRESH_SECONDS = 15;

export interface Polled<T> {
  data: T | null;
  error: string | null;
  status: number | null; // the HTTP status of a failed answer
  loading: boolean;
  fetchedAt: number; // epoch ms of the answer shown
  refresh: () => void;
}

/**
 * `load` now, again every REFRESH_SECONDS while the tab is visible, and on refresh(). A newer
 * load aborts an older one; what was shown stays until the next answer arrives.
 */
export function usePolling<T>(
  load: (signal: AbortSignal) => Promise<T>,
  key: string,
): Polled<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [fetchedAt, setFetchedAt] = useState(() => Date.now());
  const current = useRef<AbortController | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;

  const refresh = useCallback(() => {
    current.current?.abort();
    const controller = new AbortController();
    current.current = controller;
    setLoading(true);
    loadRef
      .current(controller.signal)
      .then((answer) => {
        if (controller.signal.aborted) return;
        setData(answer);
        setError(null);
        setStatus(null);
        setFetchedAt(Date.now());
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted) return;
        setError(err instanceof Error ? err.message : String(err));
        setStatus(typeof err === "object" && err !== null && "status" in err ? Number(err.status) : null);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
  }, []);

  useEffect(() => {
    setData(null);
    setError(null);
    refresh();
    const timer = window.setInterval(() => {
      if (document.visibilityState !== "hidden") refresh();
    }, REFRESH_SECONDS * 1000);
    return () => {
      window.clearInterval(timer);
      current.current?.abort();
    };
  }, [key, refresh]);

  return { data, error, status, loading, fetchedAt, refresh };
}
