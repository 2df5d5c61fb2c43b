/**
 * Conditions as the compiler leaves them: field paths split, dates and durations in epoch
 * milliseconds, so evaluating one does no parsing.
 */
export type FieldSource =
  'contact' | 'trigger' | 'event' | 'score' | 'lifecycleStage' | 'tags' | 'lists';

export interface Field {
  readonly source: FieldSource;
  /** Path below the source; empty for `lifecycleStage`, `tags` and `lists`. */
  readonly path: readonly string[];
}

export type Scalar = string | number | boolean;

export type CompareOp = 'gt' | 'gte' | 'lt' | 'lte';

export type RelativeOp = 'withinLast' | 'moreThanAgo' | 'withinNext';

export type PlanCondition =
  | { readonly type: 'all'; readonly conditions: readonly PlanCondition[] }
  | { readonly type: 'any'; readonly conditions: readonly PlanCondition[] }
  | { readonly type: 'not'; readonly condition: PlanCondition }
  | { readonly type: 'equals'; readonly field: Field; readonly value: Scalar }
  | { readonly type: 'notEquals'; readonly field: Field; readonly value: Scalar }
  | { readonly type: 'in'; readonly field: Field; readonly values: readonly Scalar[] }
  | { readonly type: 'contains'; readonly field: Field; readonly value: Scalar }
  | { readonly type: 'exists'; readonly field: Field }
  /** `as: 'date'` compares the field read as a date with `value` in epoch ms. */
  | {
      readonly type: 'compare';
      readonly field: Field;
      readonly op: CompareOp;
      readonly value: number;
      readonly as: 'number' | 'date';
    }
  | {
      readonly type: 'relativeDate';
      readonly field: Field;
      readonly op: RelativeOp;
      readonly ms: number;
    }
  | { readonly type: 'emailActivity'; readonly stepId: string; readonly activity: string };
