/**
 * What conditions are evaluated against: a snapshot of the contact and, where the condition
 * sits, the event at hand. The shell loads it (an activity in Temporal, a map in the simulator);
 * the core never fetches anything itself.
 */
export interface EventFacts {
  readonly name: string;
  readonly properties: Readonly<Record<string, unknown>>;
}

/** What a contact did with an email this enrollment sent: the enrollment history conditions read. */
export const EMAIL_ACTIVITIES = [
  'sent',
  'delivered',
  'opened',
  'clicked',
  'bounced',
  'complained',
] as const;
export type EmailActivity = (typeof EMAIL_ACTIVITIES)[number];

/**
 * The events that record what happened to a sent email, and the activity each stands for. They
 * carry the `step` (and, on the engine, the `enrollmentId`) of the send; `sent` comes from the
 * send itself. The simulator reads them from its timeline, the engine from stored events.
 */
export const EMAIL_ACTIVITY_EVENTS = {
  'email.delivered': 'delivered',
  'email.opened': 'opened',
  'email.clicked': 'clicked',
  'email.bounced': 'bounced',
  'email.complained': 'complained',
} as const satisfies Readonly<Record<string, EmailActivity>>;

export interface Facts {
  /** Contact attributes plus the built-in fields (`email`, `firstName`, `timezone`, ...). */
  readonly contact: Readonly<Record<string, unknown>>;
  readonly scores?: Readonly<Record<string, number>>;
  readonly lifecycleStage?: string | null;
  /** Absent when there are none ({@link listFacts}). */
  readonly tags?: readonly string[];
  readonly lists?: readonly string[];
  /** Properties of the event that enrolled the contact (`trigger.*` fields). */
  readonly trigger?: Readonly<Record<string, unknown>>;
  /** Properties of the event being matched (`event.*` fields). */
  readonly event?: Readonly<Record<string, unknown>>;
  /** Per email step of this enrollment, what happened to its message. */
  readonly emails?: Readonly<Record<string, readonly EmailActivity[]>>;
}

/**
 * A contact's tags and lists as facts hold them: each left out when empty, so `exists` on
 * `tags` holds only for a contact that has a tag. Evaluation keeps reading an empty list as a
 * value (it did so when facts always held one): facts recorded in the histories of running
 * journeys hold empty lists, and replayed, they must decide as they did then.
 */
export function listFacts(
  tags: readonly string[],
  lists: readonly string[],
): Pick<Facts, 'tags' | 'lists'> {
  return {
    ...(tags.length > 0 ? { tags } : {}),
    ...(lists.length > 0 ? { lists } : {}),
  };
}
