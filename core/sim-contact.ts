import { assertNever } from './assert-never.js';
import { listFacts, type Facts } from './facts.js';
import type { Action } from './plan.js';

/** A contact in a simulation: what conditions read, changed by events and by actions. */
export interface SimContact {
  readonly id: string;
  readonly attributes?: Readonly<Record<string, unknown>>;
  readonly timezone?: string;
  readonly scores?: Readonly<Record<string, number>>;
  readonly lifecycleStage?: string;
  readonly tags?: readonly string[];
  readonly lists?: readonly string[];
  /** Enrolls the contact at this time, as a manual or API enrollment would. */
  readonly enrollAt?: number;
}

/** A change carried by a timeline event: attributes merge, the rest replace. */
export interface ContactUpdate {
  readonly attributes?: Readonly<Record<string, unknown>>;
  readonly scores?: Readonly<Record<string, number>>;
  readonly lifecycleStage?: string;
  readonly tags?: readonly string[];
  readonly lists?: readonly string[];
}

export function factsOf(contact: SimContact): Facts {
  return {
    contact: { ...contact.attributes, id: contact.id, timezone: contact.timezone ?? null },
    scores: contact.scores ?? {},
    lifecycleStage: contact.lifecycleStage ?? null,
    ...listFacts(contact.tags ?? [], contact.lists ?? []),
  };
}

export function applyUpdate(contact: SimContact, update: ContactUpdate): SimContact {
  return {
    ...contact,
    ...update,
    attributes: { ...contact.attributes, ...update.attributes },
  };
}

/** What an action does to the contact, so later branches in the simulation see it. */
export function applyAction(contact: SimContact, action: Action): SimContact {
  switch (action.type) {
    case 'updateContact': {
      const attributes: Record<string, unknown> = { ...contact.attributes };
      for (const change of action.changes) {
        if (change.type === 'set') attributes[change.attribute] = change.value;
        else if (change.type === 'unset') delete attributes[change.attribute];
        else {
          const current = attributes[change.attribute];
          attributes[change.attribute] = (typeof current === 'number' ? current : 0) + change.by;
        }
      }
      return { ...contact, attributes };
    }
    case 'updateTags':
      return { ...contact, tags: edit(contact.tags, action.add, action.remove) };
    case 'updateLists':
      return { ...contact, lists: edit(contact.lists, action.add, action.remove) };
    case 'adjustScore': {
      const scores = { ...contact.scores };
      scores[action.score] = (scores[action.score] ?? 0) + action.points;
      return { ...contact, scores };
    }
    case 'setLifecycleStage':
      return { ...contact, lifecycleStage: action.stage };
    case 'sendEmail':
    case 'createTask':
    case 'webhook':
    case 'enroll':
    case 'unenroll':
      return contact;
    default:
      return assertNever(action, 'action');
  }
}

function edit(
  current: readonly string[] | undefined,
  add: readonly string[],
  remove: readonly string[],
): string[] {
  const set = new Set(current ?? []);
  for (const a of add) set.add(a);
  for (const r of remove) set.delete(r);
  return [...set].sort();
}
