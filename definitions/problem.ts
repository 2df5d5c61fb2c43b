/**
 * One thing wrong with a definition: where (a JSON pointer into the submitted document), what
 * (a stable machine-readable code) and a sentence a marketer understands.
 */
export interface Problem {
  readonly pointer: string;
  readonly code: string;
  readonly message: string;
}

export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly Problem[] };

export function pointerOf(...segments: readonly (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
