/**
 * Workflow ids from business keys. One enrollment per (journey version, contact, entry key):
 * a second start with the same id is refused by Temporal, so duplicate triggers cannot race.
 */
export function enrollmentWorkflowId(journeyVersionId: string, contactId: string, entryKey: string): string {
  return `enrollment/${journeyVersionId}/${contactId}/${entryKey}`;
}

export const ENTRY_KEY_ONCE = 'once';
