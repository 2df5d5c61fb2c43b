/**
 * Runs `work` at once and then `everyMs` after each run ends, until the returned stopper is
 * called; the stopper waits for the run in hand, which can ask `stopping()` to end early. A run
 * that fails is logged (`failure` says what failed) and the next one comes as usual.
 */
export function repeatUntilStopped(
  everyMs: number,
  failure: string,
  work: (run: { readonly first: boolean; readonly stopping: () => boolean }) => Promise<unknown>,
): () => Promise<void> {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const stopping = () => stopped;
  const tick = (first: boolean) => {
    running = work({ first, stopping })
      .then(
        () => undefined,
        (error: unknown) => console.error(`[drumbeat] ${failure}; trying again later:`, error),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(() => tick(false), everyMs);
      });
  };
  let timer: NodeJS.Timeout = setTimeout(() => tick(true), 0);
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
