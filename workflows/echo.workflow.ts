/** An empty workflow: the baseline for the raw Temporal round trip in `npm run bench`. */
export async function echoWorkflow(value: string): Promise<string> {
  return Promise.resolve(value);
}
