/**
 * Workflow ids from business keys. One enrollment per (journey, contact, entry key): a second
 * start with the same id is refused by Temporal, so overlapping triggers cannot race into two
 * enrollments. The key comes from the journey's entry rules (`once`, an order id, ...).
 */
export function enrollmentWorkflowId(
  journeyId: string,
  contactId: string,
  entryKey: string,
): string {
  return `enrollment/${journeyId}/${contactId}/${entryKey}`;
}

/** The id of a journey version's publish pass (its workflow and its run): one per version. */
export function publishRunId(journeyId: string, versionId: string): string {
  return `audience/${journeyId}/${versionId}/publish`;
}

/** The delayed run of a one-off schedule trigger (`at`) of one version of a journey. */
export function oneOffRunId(journeyId: string, versionId: string, triggerIndex: number): string {
  return `audience/${journeyId}/${versionId}/at-${triggerIndex}`;
}

/** Whether `runId` is {@link oneOffRunId} of this journey's trigger, of whichever version. */
export function isOneOffRunId(runId: string, journeyId: string, triggerIndex: number): boolean {
  return runId.startsWith(`audience/${journeyId}/`) && runId.endsWith(`/at-${triggerIndex}`);
}
