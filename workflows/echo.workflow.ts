import { condition, defineSignal, setHandler } from '@temporalio/workflow';

/** An empty workflow: the baseline for the raw Temporal round trip in `npm run bench`. */
export async function echoWorkflow(value: string): Promise<string> {
  return Promise.resolve(value);
}

export const pokeSignal = defineSignal('bench.poke');

/** Waits for one signal and returns: the baseline for the raw signal round trip. */
export async function awaitSignalWorkflow(): Promise<void> {
  let poked = false;
  setHandler(pokeSignal, () => void (poked = true));
  await condition(() => poked);
}
