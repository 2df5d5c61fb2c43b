/** Ends every switch over a tagged union, so a new variant is a compile error until handled. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`Unhandled ${what}: ${JSON.stringify(value)}`);
}
