/** A JSON object (not an array, not null): what stored JSON and request bodies are checked with. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
